package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// misspelledMethod calls a vz method that does not exist: the one vz has is
// SetStorageDevicesVirtualMachineConfiguration.
const misspelledMethod = `//go:build darwin

package vzmod

import "github.com/Code-Hex/vz/v3"

func setDisks(cfg *vz.VirtualMachineConfiguration, disks []vz.StorageDeviceConfiguration) {
	cfg.SetStorageDeviceVirtualMachineConfiguration(disks)
}
`

// rosettaEverywhere uses an API that vz declares in _arm64.go files only,
// from a file built on both architectures.
const rosettaEverywhere = `//go:build darwin

package vzmod

import "github.com/Code-Hex/vz/v3"

func rosettaShare() (*vz.LinuxRosettaDirectoryShare, error) {
	return vz.NewLinuxRosettaDirectoryShare()
}
`

const brokenLinuxFile = `//go:build linux

package vzmod

func broken() { return 1 }
`

const brokenDarwinTest = `//go:build darwin

package vzmod

import "testing"

func TestNew(t *testing.T) {
	vm, err := New(Spec{})
	if err != nil {
		t.Skip(err)
	}
	if !vm.CanStartt() {
		t.Error("cannot start")
	}
}
`

func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string // added to a copy of testdata/vzmod
		args     []string
		wantCode int
		want     []string // in the output
		wantLog  []string // in the -v log on stderr
	}{
		{
			name:     "vz used correctly passes on both architectures",
			args:     []string{"-v"},
			wantCode: 0,
			// vz, its cgo files and the standard library check cleanly, so
			// none of our errors can hide behind one of theirs.
			wantLog: []string{
				"dependencies type-checked, 0 with errors\n",
			},
			want: []string{
				"darwin/arm64: checked 1 package (2 files with //go:build darwin), 0 errors\n",
				"darwin/amd64: checked 1 package (2 files with //go:build darwin), 0 errors\n",
				"  machine.go\n",
				"  rosetta_arm64.go (darwin/arm64 only)\n",
				"  rosetta_amd64.go (darwin/amd64 only)\n",
			},
		},
		{
			name:     "misspelled vz method fails naming the method",
			files:    map[string]string{"disks.go": misspelledMethod},
			wantCode: 1,
			want: []string{
				"disks.go:8:6: cfg.SetStorageDeviceVirtualMachineConfiguration undefined " +
					"(type *vz.VirtualMachineConfiguration has no field or method SetStorageDeviceVirtualMachineConfiguration",
				"darwin/arm64: checked 1 package (3 files with //go:build darwin), 1 error\n",
				"darwin/amd64: checked 1 package (3 files with //go:build darwin), 1 error\n",
			},
		},
		{
			name:     "arm64-only vz API in a file built for amd64 fails on amd64",
			files:    map[string]string{"share.go": rosettaEverywhere},
			wantCode: 1,
			want: []string{
				"share.go:7:26: undefined: vz.LinuxRosettaDirectoryShare\n",
				"share.go:8:12: undefined: vz.NewLinuxRosettaDirectoryShare\n",
				"darwin/arm64: checked 1 package (3 files with //go:build darwin), 0 errors\n",
				"darwin/amd64: checked 1 package (3 files with //go:build darwin), 2 errors\n",
			},
		},
		{
			name:     "-arch arm64 checks arm64 only",
			files:    map[string]string{"share.go": rosettaEverywhere},
			args:     []string{"-arch", "arm64"},
			wantCode: 0,
			want:     []string{"darwin/arm64: checked 1 package (3 files with //go:build darwin), 0 errors\n"},
		},
		{
			name:     "a Linux-only file is left to the Linux build",
			files:    map[string]string{"broken_linux.go": brokenLinuxFile},
			wantCode: 0,
			want:     []string{"darwin/arm64: checked 1 package (2 files with //go:build darwin), 0 errors\n"},
		},
		{
			name:     "mistake in a darwin test file fails",
			files:    map[string]string{"machine_test.go": brokenDarwinTest},
			wantCode: 1,
			want: []string{
				"machine_test.go:12:9: vm.CanStartt undefined",
				"darwin/arm64: checked 1 package (3 files with //go:build darwin), 1 error\n",
			},
		},
		{
			name:     "-test=false leaves test files out",
			files:    map[string]string{"machine_test.go": brokenDarwinTest},
			args:     []string{"-test=false"},
			wantCode: 0,
			want:     []string{"darwin/arm64: checked 1 package (2 files with //go:build darwin), 0 errors\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "vzmod"))); err != nil {
				t.Fatal(err)
			}
			for name, src := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Chdir(dir)

			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, &stdout, &stderr)
			out := stdout.String()
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			for _, want := range tt.wantLog {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("log lacks %q", want)
				}
			}
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", out, stderr.String())
			}
		})
	}
}

func TestRunRejectsUnknownArch(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"-arch", "arm"}, &stdout, &stderr)
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if want := "darwin/arm: unknown architecture; use arm64 or amd64"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q lacks %q", stderr.String(), want)
	}
}
