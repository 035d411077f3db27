package ipsw_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm/ipsw"
	"github.com/vivarium-vm/vivarium/vm/ipsw/ipswtest"
)

func TestCheckRestoreImageFile(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		make     func(path string) error
		wantErr  error
		wantText string
	}{
		{
			name: "macOS restore image",
			file: "UniversalMac_15.0_24A335_Restore.ipsw",
			make: func(p string) error { return ipswtest.WriteRestoreImage(p) },
		},
		{
			name: "restore image listing real Macs and the virtual one",
			file: "UniversalMac.ipsw",
			make: func(p string) error { return ipswtest.WriteRestoreImage(p, "Mac14,3", "VirtualMac2,1") },
		},
		{
			name:     "zip without the restore files",
			file:     "not-an-ipsw.zip",
			make:     func(p string) error { return ipswtest.WriteZip(p, map[string]string{"README.txt": "hello"}) },
			wantErr:  ipsw.ErrNotRestoreImage,
			wantText: "not-an-ipsw.zip is not a macOS restore image (.ipsw)",
		},
		{
			name: "zip missing Restore.plist",
			file: "half.ipsw",
			make: func(p string) error {
				return ipswtest.WriteZip(p, map[string]string{"BuildManifest.plist": "<plist/>"})
			},
			wantErr:  ipsw.ErrNotRestoreImage,
			wantText: "it has no Restore.plist",
		},
		{
			name:     "not a zip at all",
			file:     "notes.ipsw",
			make:     func(p string) error { return os.WriteFile(p, []byte("just text, not an archive\n"), 0o644) },
			wantErr:  ipsw.ErrNotRestoreImage,
			wantText: "notes.ipsw is not a macOS restore image (.ipsw)",
		},
		{
			name:     "empty file",
			file:     "empty.ipsw",
			make:     func(p string) error { return os.WriteFile(p, nil, 0o644) },
			wantErr:  ipsw.ErrNotRestoreImage,
			wantText: "empty.ipsw is not a macOS restore image",
		},
		{
			name:     "iPhone restore image",
			file:     "iPhone15,2_18.0_22A3354_Restore.ipsw",
			make:     func(p string) error { return ipswtest.WriteRestoreImage(p, "iPhone15,2", "iPhone15,3") },
			wantErr:  ipsw.ErrNotRestoreImage,
			wantText: "is a restore image for iPhone, not a macOS restore image for a Mac",
		},
		{
			name:     "folder",
			file:     "folder.ipsw",
			make:     func(p string) error { return os.Mkdir(p, 0o755) },
			wantErr:  ipsw.ErrNotRestoreImage,
			wantText: "it is a folder",
		},
		{
			name:     "missing file",
			file:     "gone.ipsw",
			make:     func(string) error { return nil },
			wantErr:  os.ErrNotExist,
			wantText: "gone.ipsw",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.file)
			if err := tt.make(path); err != nil {
				t.Fatal(err)
			}
			err := ipsw.CheckRestoreImageFile(path)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("CheckRestoreImageFile: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %q", err, tt.wantText)
			}
		})
	}
}
