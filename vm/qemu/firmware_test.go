package qemu

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

// touch makes each file, with its directories, under root.
func touch(t *testing.T, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindFirmware(t *testing.T) {
	tests := []struct {
		name     string
		arch     string
		files    []string // under the temp root
		dirs     []string // searched, relative to the root
		wantCode string   // relative to the root; "" wants an error
		wantVars string
	}{
		{
			name:     "Debian prefers the 4M build",
			arch:     vm.ArchAMD64,
			files:    []string{"OVMF/OVMF_CODE.fd", "OVMF/OVMF_VARS.fd", "OVMF/OVMF_CODE_4M.fd", "OVMF/OVMF_VARS_4M.fd"},
			dirs:     []string{"OVMF"},
			wantCode: "OVMF/OVMF_CODE_4M.fd", wantVars: "OVMF/OVMF_VARS_4M.fd",
		},
		{
			name:     "QEMU's own beside the binary comes first",
			arch:     vm.ArchAMD64,
			files:    []string{"brew/share/qemu/edk2-x86_64-code.fd", "brew/share/qemu/edk2-i386-vars.fd", "OVMF/OVMF_CODE_4M.fd", "OVMF/OVMF_VARS_4M.fd"},
			dirs:     []string{"brew/share/qemu", "OVMF"},
			wantCode: "brew/share/qemu/edk2-x86_64-code.fd", wantVars: "brew/share/qemu/edk2-i386-vars.fd",
		},
		{
			name:     "Arch's subdirectory",
			arch:     vm.ArchAMD64,
			files:    []string{"edk2/x64/OVMF_CODE.4m.fd", "edk2/x64/OVMF_VARS.4m.fd"},
			dirs:     []string{"edk2"},
			wantCode: "edk2/x64/OVMF_CODE.4m.fd", wantVars: "edk2/x64/OVMF_VARS.4m.fd",
		},
		{
			name:     "arm64 from Debian",
			arch:     vm.ArchARM64,
			files:    []string{"OVMF/OVMF_CODE_4M.fd", "OVMF/OVMF_VARS_4M.fd", "AAVMF/AAVMF_CODE.fd", "AAVMF/AAVMF_VARS.fd"},
			dirs:     []string{"OVMF", "AAVMF"},
			wantCode: "AAVMF/AAVMF_CODE.fd", wantVars: "AAVMF/AAVMF_VARS.fd",
		},
		{
			name:  "code without its variable store does not count",
			arch:  vm.ArchAMD64,
			files: []string{"OVMF/OVMF_CODE_4M.fd", "qemu/OVMF.fd"},
			dirs:  []string{"OVMF", "qemu"},
		},
		{
			name: "nothing installed",
			arch: vm.ArchARM64,
			dirs: []string{"OVMF"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			touch(t, root, tt.files...)
			dirs := make([]string, len(tt.dirs))
			for i, d := range tt.dirs {
				dirs[i] = filepath.Join(root, d)
			}
			fw, err := FindFirmware(tt.arch, dirs)
			if tt.wantCode == "" {
				if err == nil {
					t.Fatalf("FindFirmware = %+v, want an error", fw)
				}
				if !errors.Is(err, ErrNoFirmware) || !errors.Is(err, vm.ErrUnsupported) {
					t.Errorf("error %q is not ErrNoFirmware and vm.ErrUnsupported", err)
				}
				for _, say := range []string{"apt-get install", "brew install qemu", "boot a kernel", dirs[0], firmwarePairs(tt.arch)[0][0]} {
					if !strings.Contains(err.Error(), say) {
						t.Errorf("error %q does not say %q", err, say)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("FindFirmware: %v", err)
			}
			want := Firmware{Code: filepath.Join(root, tt.wantCode), Vars: filepath.Join(root, tt.wantVars)}
			if fw != want {
				t.Errorf("FindFirmware = %+v, want %+v", fw, want)
			}
		})
	}
}

func TestDefaultFirmwareDirs(t *testing.T) {
	dirs := DefaultFirmwareDirs("/opt/homebrew/Cellar/qemu/9.0/bin/qemu-system-aarch64")
	if dirs[0] != "/opt/homebrew/Cellar/qemu/9.0/share/qemu" {
		t.Errorf("first dir %q, want the binary's own share/qemu", dirs[0])
	}
	for _, want := range []string{"/usr/share/OVMF", "/usr/share/AAVMF", "/opt/homebrew/share/qemu", "/usr/local/share/qemu"} {
		if !contains(dirs, want) {
			t.Errorf("%q is not searched: %q", want, dirs)
		}
	}
	seen := map[string]bool{}
	for _, d := range DefaultFirmwareDirs("/usr/bin/qemu-system-x86_64") {
		if seen[d] {
			t.Errorf("%q searched twice", d)
		}
		seen[d] = true
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestEnsureEFIVars(t *testing.T) {
	dir := t.TempDir()
	fw := Firmware{Code: filepath.Join(dir, "CODE.fd"), Vars: filepath.Join(dir, "VARS.fd")}
	if err := os.WriteFile(fw.Vars, []byte("blank variable store"), 0o444); err != nil {
		t.Fatal(err)
	}
	vars := filepath.Join(dir, "Demo.vm", vm.EFIVarsFile)
	if err := os.Mkdir(filepath.Dir(vars), 0o755); err != nil {
		t.Fatal(err)
	}

	if err := EnsureEFIVars(vars, fw); err != nil {
		t.Fatalf("first start: %v", err)
	}
	got, _ := os.ReadFile(vars)
	if string(got) != "blank variable store" {
		t.Fatalf("the VM's store holds %q, want a copy of the template", got)
	}
	fi, _ := os.Stat(vars)
	if fi.Mode().Perm()&0o200 == 0 {
		t.Errorf("the VM's store is %v: the firmware must be able to write it", fi.Mode())
	}

	// The guest wrote its boot entries; a later start keeps them.
	if err := os.WriteFile(vars, []byte("boot entries"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := EnsureEFIVars(vars, fw); err != nil {
		t.Fatalf("second start: %v", err)
	}
	if got, _ := os.ReadFile(vars); string(got) != "boot entries" {
		t.Errorf("a second start replaced the VM's store: %q", got)
	}

	if err := EnsureEFIVars(filepath.Join(dir, "Other.vm", vm.EFIVarsFile), Firmware{Vars: filepath.Join(dir, "missing.fd")}); err == nil {
		t.Error("EnsureEFIVars with a missing template succeeded")
	}
}
