package qemu

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

func TestDetectAudio(t *testing.T) {
	withPulse := t.TempDir()
	touch(t, withPulse, "pulse/native")
	tests := []struct {
		name string
		goos string
		env  map[string]string
		want string
	}{
		{name: "macOS", goos: "darwin", want: "coreaudio"},
		{name: "Linux desktop session", goos: "linux", env: map[string]string{"XDG_RUNTIME_DIR": withPulse}, want: "pa"},
		{name: "remote PulseAudio", goos: "linux", env: map[string]string{"PULSE_SERVER": "tcp:host"}, want: "pa"},
		{name: "Linux server without sound", goos: "linux", env: map[string]string{"XDG_RUNTIME_DIR": t.TempDir()}, want: ""},
		{name: "other systems", goos: "freebsd", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := detectAudio(tt.goos, func(k string) string { return tt.env[k] }); got != tt.want {
				t.Errorf("detectAudio = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFindProgram(t *testing.T) {
	qemuDir := t.TempDir()
	touch(t, qemuDir, "qemu-system-x86_64", "qemu-img")
	lone := filepath.Join(t.TempDir(), "my-qemu")
	touch(t, filepath.Dir(lone), "my-qemu")
	pathDir := t.TempDir()
	touch(t, pathDir, "qemu-system-aarch64")
	if err := os.Chmod(filepath.Join(pathDir, "qemu-system-aarch64"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", pathDir)

	tests := []struct {
		name, override, program string
		want                    string
		wantErr                 []string
	}{
		{name: "directory from the preferences", override: qemuDir, program: "qemu-img", want: filepath.Join(qemuDir, "qemu-img")},
		{name: "binary from the preferences", override: filepath.Join(qemuDir, "qemu-system-x86_64"), program: "qemu-system-x86_64", want: filepath.Join(qemuDir, "qemu-system-x86_64")},
		{name: "its sibling", override: filepath.Join(qemuDir, "qemu-system-x86_64"), program: "qemu-img", want: filepath.Join(qemuDir, "qemu-img")},
		{name: "a binary of another name is used as it is", override: lone, program: "qemu-system-x86_64", want: lone},
		{name: "PATH", program: "qemu-system-aarch64", want: filepath.Join(pathDir, "qemu-system-aarch64")},
		{name: "missing from the preferences", override: filepath.Join(qemuDir, "gone"), program: "qemu-img", wantErr: []string{"preferences", "gone"}},
		{name: "not installed", program: "qemu-system-x86_64", wantErr: []string{"apt-get install qemu-system-x86", "brew install qemu", "preferences"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findProgram(tt.override, tt.program)
			if tt.wantErr != nil {
				if err == nil && tt.override == "" {
					t.Skipf("%s is installed outside PATH, at %s", tt.program, got)
				}
				if err == nil {
					t.Fatalf("findProgram = %q, want an error", got)
				}
				if !errors.Is(err, ErrNoQEMU) || !errors.Is(err, vm.ErrUnsupported) {
					t.Errorf("error %q is not ErrNoQEMU and vm.ErrUnsupported", err)
				}
				for _, say := range tt.wantErr {
					if !strings.Contains(err.Error(), say) {
						t.Errorf("error %q does not say %q", err, say)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("findProgram: %v", err)
			}
			if got != tt.want {
				t.Errorf("findProgram = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	noQEMU := t.TempDir()
	qemuDir := t.TempDir()
	touch(t, qemuDir, "qemu-system-x86_64")
	noFirmware := []string{t.TempDir()}
	tests := []struct {
		name    string
		backend Backend
		edit    func(c *vm.Config)
		wantIs  error
		wantSay string
	}{
		{name: "a Linux kernel boot", backend: Backend{QEMUPath: qemuDir}},
		{name: "macOS guests", backend: Backend{QEMUPath: qemuDir}, edit: func(c *vm.Config) { c.OS = vm.OSMacOS }, wantIs: vm.ErrUnsupported, wantSay: "vz backend"},
		{name: "rosetta", backend: Backend{QEMUPath: qemuDir}, edit: func(c *vm.Config) { c.Rosetta = true }, wantIs: vm.ErrUnsupported, wantSay: "Apple Virtualization"},
		{name: "QEMU missing", backend: Backend{QEMUPath: noQEMU}, wantIs: ErrNoQEMU, wantSay: "qemu-system-x86_64"},
		{
			name: "EFI without firmware", backend: Backend{QEMUPath: qemuDir, FirmwareDirs: noFirmware},
			edit:   func(c *vm.Config) { c.Boot = vm.Boot{Mode: vm.BootEFI} },
			wantIs: ErrNoFirmware, wantSay: "apt-get install ovmf",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig()
			if tt.edit != nil {
				tt.edit(c)
			}
			err := tt.backend.Check(c)
			if tt.wantIs == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("Check = %v, want %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantSay) {
				t.Errorf("Check = %q, does not say %q", err, tt.wantSay)
			}
		})
	}
}

func TestDetectViewer(t *testing.T) {
	installed := func(string) (string, error) { return "/usr/bin/" + ViewerProgram, nil }
	missing := func(name string) (string, error) { return "", errors.New(name + " not found") }
	tests := []struct {
		name          string
		goos          string
		lookPath      func(string) (string, error)
		want          string
		wantClipboard bool
	}{
		{name: "Linux with virt-viewer", goos: "linux", lookPath: installed, want: ViewerSPICE, wantClipboard: true},
		{name: "Linux without virt-viewer", goos: "linux", lookPath: missing, want: ViewerQEMU},
		{name: "macOS keeps QEMU's Cocoa window", goos: "darwin", lookPath: installed, want: ViewerQEMU, wantClipboard: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DetectViewer(tt.goos, tt.lookPath)
			if got != tt.want {
				t.Errorf("DetectViewer = %q, want %q", got, tt.want)
			}
			why := ClipboardUnavailable(tt.goos, got)
			if (why == "") != tt.wantClipboard {
				t.Errorf("ClipboardUnavailable = %q, want clipboard shared: %v", why, tt.wantClipboard)
			}
			if why != "" && !strings.Contains(why, "virt-viewer") {
				t.Errorf("ClipboardUnavailable = %q: does not say what to install", why)
			}
		})
	}
}
