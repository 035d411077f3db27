package qemu

import (
	"errors"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

func TestQEMUOutputInErrors(t *testing.T) {
	tests := []struct {
		name    string
		printed string
		want    []string
		wantNot []string
	}{
		{name: "silent", printed: "", want: nil},
		{
			name:    "no window in this QEMU",
			printed: "qemu-system-x86_64: Display 'gtk' is not available.\n",
			want:    []string{":\nqemu-system-x86_64: Display 'gtk' is not available."},
		},
		{
			name:    "only the last lines",
			printed: strings.Repeat("noise\n", 100) + "line 1\nline 2\nline 3\nline 4\nline 5\nqemu: the reason\n",
			want:    []string{"line 1\n", "qemu: the reason"},
			wantNot: []string{"noise"},
		},
		{
			name:    "a long story keeps its end",
			printed: strings.Repeat("x", 3*tailSize) + "\nqemu: Could not open 'disk-0.img': No such file or directory\n",
			want:    []string{"Could not open 'disk-0.img'"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tw tailWriter
			for _, chunk := range strings.SplitAfter(tt.printed, "\n") {
				tw.Write([]byte(chunk))
			}
			got := tw.lastLines()
			if tt.want == nil && got != "" {
				t.Errorf("lastLines = %q, want nothing", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("lastLines = %q, lacks %q", got, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("lastLines = %q, has %q", got, w)
				}
			}
		})
	}
}

func TestExplainQEMUFailures(t *testing.T) {
	tests := []struct {
		name     string
		said     string
		accel    string
		kind     error
		hintPart string
	}{
		{"no window in this QEMU", "qemu-system-x86_64: Display 'gtk' is not available.", AccelTCG, nil, "apt-get install qemu-system-gui"},
		{"gtk without a display", "gtk initialization failed", AccelTCG, vm.ErrNoDisplay, "--headless"},
		{"kvm_pvm refuses an MSR", "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nkvm_buf_set_msrs: Assertion failed", AccelKVM, vm.ErrAccelerator, "vivarium set 'my vm' accel=tcg"},
		{"nested KVM emulation failure", "KVM internal error. Suberror: 1\nemulation failure", AccelKVM, vm.ErrAccelerator, "VIVARIUM_QEMU_ACCEL=tcg"},
		{"the same words under TCG are not the accelerator's", "KVM internal error", AccelTCG, nil, ""},
		{"nothing known", "qemu: something else", AccelKVM, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := explain(errors.New("qemu-system-x86_64 failed to start"), tt.said, "my vm", tt.accel)
			if tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Errorf("%v: not of kind %v", err, tt.kind)
			}
			if tt.kind == nil && (errors.Is(err, vm.ErrAccelerator) || errors.Is(err, vm.ErrNoDisplay)) {
				t.Errorf("%v: has a kind it should not", err)
			}
			hint := vm.HintOf(err)
			if tt.hintPart == "" && hint != "" || !strings.Contains(hint, tt.hintPart) {
				t.Errorf("hint %q, want one with %q", hint, tt.hintPart)
			}
			if p := vm.ProblemOf("starting my vm", err); p.Do != hint || strings.Contains(p.Why, hint) && hint != "" {
				t.Errorf("problem %+v does not keep the hint apart", p)
			}
		})
	}
}

func TestCheckDisplay(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if err := checkDisplay("linux", false, env(nil)); !errors.Is(err, vm.ErrNoDisplay) || !strings.Contains(vm.HintOf(err), "--headless") {
		t.Errorf("no display: %v", err)
	}
	for _, ok := range []struct {
		goos     string
		headless bool
		env      map[string]string
	}{
		{"linux", true, nil},
		{"linux", false, map[string]string{"DISPLAY": ":0"}},
		{"linux", false, map[string]string{"WAYLAND_DISPLAY": "wayland-0"}},
		{"darwin", false, nil},
	} {
		if err := checkDisplay(ok.goos, ok.headless, env(ok.env)); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
}
