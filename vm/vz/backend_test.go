package vz

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

func TestBackendCheck(t *testing.T) {
	qemu := vm.NewConfig("q", vm.OSLinux)
	qemu.Backend = vm.BackendQEMU
	tests := []struct {
		name     string
		backend  *Backend
		c        *vm.Config
		wantErr  string
		unsupp   bool
		wantNone bool
	}{
		{name: "desktop on sonoma", backend: New(sonoma), c: linuxDesktop().Config, wantNone: true},
		{name: "desktop on an intel mac", backend: New(intel), c: linuxDesktop().Config, unsupp: true,
			wantErr: "Rosetta for Linux needs a Mac with Apple silicon: turn off rosetta in the VM's settings to run it on this host"},
		{name: "qemu config", backend: New(sonoma), c: qemu,
			wantErr: "q: backend is \"qemu\"; the vz backend runs only VMs with backend = \"vz\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.backend.Check(tt.c)
			if tt.wantNone {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("Check = %v, want %q", err, tt.wantErr)
			}
			if errors.Is(err, vm.ErrUnsupported) != tt.unsupp {
				t.Errorf("errors.Is(ErrUnsupported) = %v, want %v", !tt.unsupp, tt.unsupp)
			}
		})
	}
}

// A disposable run writes only its throw-away copy: the base disk is
// byte-identical afterwards, and its mode and modification time unchanged.
func TestMakeThrowawayLeavesBaseUntouched(t *testing.T) {
	tests := []struct {
		name string
		data func() []byte
	}{
		{name: "small disk", data: func() []byte { return []byte("bootsector and a filesystem") }},
		{name: "sparse disk with data at both ends", data: func() []byte {
			b := make([]byte, 8<<20)
			copy(b, "head")
			copy(b[len(b)-4:], "tail")
			return b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			base := filepath.Join(dir, "disk-0.img")
			want := tt.data()
			if err := os.WriteFile(base, want, 0o644); err != nil {
				t.Fatal(err)
			}
			before, err := os.Stat(base)
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(dir, "run", "disposable", "disk-0.img")
			if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
				t.Fatal(err)
			}
			got, err := New(sonoma).MakeThrowaway(context.Background(), base, dst)
			if err != nil {
				t.Fatalf("MakeThrowaway: %v", err)
			}
			if got != dst {
				t.Errorf("MakeThrowaway = %q, want %q", got, dst)
			}
			// The guest writes all over its disk.
			f, err := os.OpenFile(got, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt(bytes.Repeat([]byte{0xee}, 4096), 0); err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(int64(len(want)) * 2); err != nil {
				t.Fatal(err)
			}
			f.Close()

			after, err := os.ReadFile(base)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(after, want) {
				t.Errorf("the base disk changed during the disposable run")
			}
			st, err := os.Stat(base)
			if err != nil {
				t.Fatal(err)
			}
			if st.ModTime() != before.ModTime() || st.Mode() != before.Mode() {
				t.Errorf("base mtime/mode changed: %v %v -> %v %v", before.ModTime(), before.Mode(), st.ModTime(), st.Mode())
			}
		})
	}
}

func TestMakeThrowawayRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	base, dst := filepath.Join(dir, "base.img"), filepath.Join(dir, "copy.img")
	for _, p := range []string{base, dst} {
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := New(sonoma).MakeThrowaway(context.Background(), base, dst); err == nil {
		t.Fatal("MakeThrowaway over an existing file succeeded")
	}
	if got, _ := os.ReadFile(dst); string(got) != dst {
		t.Errorf("existing file was overwritten: %q", got)
	}
}
