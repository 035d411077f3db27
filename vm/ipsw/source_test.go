package ipsw_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm/ipsw"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	local := filepath.Join(dir, "UniversalMac_15.0_24A335_Restore.ipsw")
	if err := os.WriteFile(local, []byte("zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	appleURL := "https://updates.cdn-apple.com/2024FallFCS/fullrestores/062-78489/UniversalMac_15.0_24A335_Restore.ipsw"
	tests := []struct {
		name    string
		src     string
		want    ipsw.Source
		wantErr error
		wantMsg []string // the error must say these
	}{
		{name: "latest", src: "latest", want: ipsw.Source{Kind: ipsw.SourceLatest}},
		{name: "latest in capitals", src: "LATEST", want: ipsw.Source{Kind: ipsw.SourceLatest}},
		{name: "https URL", src: appleURL, want: ipsw.Source{Kind: ipsw.SourceURL, URL: appleURL}},
		{name: "signed https URL keeps its query", src: appleURL + "?token=abc", want: ipsw.Source{Kind: ipsw.SourceURL, URL: appleURL + "?token=abc"}},
		{name: "local file used in place", src: local, want: ipsw.Source{Kind: ipsw.SourceFile, Path: local}},
		{name: "file URL", src: "file://" + filepath.ToSlash(local), want: ipsw.Source{Kind: ipsw.SourceFile, Path: local}},
		{
			name: "plain http refused", src: "http://updates.cdn-apple.com/x/UniversalMac.ipsw?token=abc",
			wantErr: ipsw.ErrInsecureURL, wantMsg: []string{"https://", "http://updates.cdn-apple.com/x/UniversalMac.ipsw"},
		},
		{name: "ftp refused", src: "ftp://example.com/x.ipsw", wantErr: ipsw.ErrUnsupportedSource, wantMsg: []string{"ftp://", "https:// only"}},
		{name: "https URL without a file", src: "https://example.com/", wantErr: ipsw.ErrUnsupportedSource, wantMsg: []string{"link to the .ipsw file"}},
		{name: "empty", src: "  ", wantErr: ipsw.ErrUnsupportedSource, wantMsg: []string{"latest"}},
		{name: "folder", src: dir, wantErr: ipsw.ErrUnsupportedSource, wantMsg: []string{"is a folder"}},
		{name: "missing file", src: filepath.Join(dir, "nope.ipsw"), wantErr: os.ErrNotExist, wantMsg: []string{"nope.ipsw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ipsw.Resolve(tt.src)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Resolve(%q) err = %v, want %v", tt.src, err, tt.wantErr)
				}
				for _, m := range tt.wantMsg {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error %q does not mention %q", err, m)
					}
				}
				if strings.Contains(err.Error(), "token=abc") {
					t.Errorf("error %q leaks the URL's token", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.src, err)
			}
			if got != tt.want {
				t.Errorf("Resolve(%q) = %+v, want %+v", tt.src, got, tt.want)
			}
		})
	}
}
