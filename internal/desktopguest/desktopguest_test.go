package desktopguest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEnsureReadsBuiltGuest(t *testing.T) {
	tests := []struct {
		name     string
		script   string // body of the build script, given OUTDIR as $1
		wantRoot string
		wantErr  string
	}{
		{
			name: "built guest",
			script: `cd "$1" && touch vmlinuz initrd.img root.img &&
printf 'recipe 1\nroot UUID=0f0f-1\nkernel 6.1\n' >VERSION`,
			wantRoot: "root=UUID=0f0f-1",
		},
		{
			name:    "build fails with the script's reason",
			script:  `echo 'desktopguest: debootstrap bookworm failed: check the network' >&2; exit 1`,
			wantErr: "check the network",
		},
		{
			name:    "VERSION without a root",
			script:  `cd "$1" && touch vmlinuz initrd.img root.img && echo 'recipe 1' >VERSION`,
			wantErr: "names no root filesystem",
		},
		{
			name:    "image missing",
			script:  `cd "$1" && touch vmlinuz initrd.img && echo 'root UUID=1' >VERSION`,
			wantErr: "root.img",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script := filepath.Join(t.TempDir(), "desktopguest.sh")
			if err := os.WriteFile(script, []byte("#!/bin/bash\n"+tt.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			g, err := ensureIn(t.Context(), script, dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ensureIn() error = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g.Root != tt.wantRoot || g.Image != filepath.Join(dir, "root.img") || g.Kernel != filepath.Join(dir, "vmlinuz") {
				t.Errorf("ensureIn() = %+v, want root %q and files in %s", g, tt.wantRoot, dir)
			}
			if !strings.HasPrefix(g.Cmdline(), tt.wantRoot+" ") {
				t.Errorf("Cmdline() = %q, want it to start with %q", g.Cmdline(), tt.wantRoot)
			}
		})
	}
}

func TestParseScreen(t *testing.T) {
	tests := []struct {
		in   string
		w, h int
		ok   bool
	}{
		{in: "1280x800", w: 1280, h: 800, ok: true},
		{in: "640x480\n", w: 640, h: 480, ok: true},
		{in: ""},
		{in: "1280"},
		{in: "0x800"},
		{in: "axb"},
	}
	for _, tt := range tests {
		w, h, err := ParseScreen(tt.in)
		if (err == nil) != tt.ok || w != tt.w || h != tt.h {
			t.Errorf("ParseScreen(%q) = %d, %d, %v; want %d, %d, ok %v", tt.in, w, h, err, tt.w, tt.h, tt.ok)
		}
		if tt.ok && Screen(w, h) != strings.TrimSpace(tt.in) {
			t.Errorf("Screen(%d, %d) = %q, want %q", w, h, Screen(w, h), tt.in)
		}
	}
}

func TestReportWaitsForTheGuest(t *testing.T) {
	r := Report{Dir: t.TempDir()}
	if v, err := r.Read(ReportClipboard); err != nil || v != "" {
		t.Fatalf("Read() of an unwritten report = %q, %v; want empty", v, err)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		os.WriteFile(filepath.Join(r.Dir, ReportClipboard), []byte("from guest"), 0o644)
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := r.WaitFor(ctx, ReportClipboard, "from guest"); err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancelShort()
	if err := r.WaitFor(short, ReportClipboard, "never"); err == nil || !strings.Contains(err.Error(), `still "from guest"`) {
		t.Errorf("WaitFor() of a value that never comes = %v, want an error saying what the file holds", err)
	}
	if err := r.SetClipboard("to guest"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(r.Dir, SetClipboardFile)); err != nil || string(b) != "to guest" {
		t.Errorf("SetClipboard left %q, %v", b, err)
	}
}
