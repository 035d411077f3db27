package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/internal/testguest"
)

// runEnv runs the binary against the VM's library with the environment
// changed: each "K=V" set, each "K=" removed.
func (v *guestVM) runEnv(change []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, v.bin, args...)
	cmd.Env = changeEnv(append(os.Environ(), "VIVARIUM_HOME="+v.home), change)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func changeEnv(env, change []string) []string {
	drop := map[string]bool{}
	for _, c := range change {
		k, _, _ := strings.Cut(c, "=")
		drop[k] = true
	}
	var out []string
	for _, e := range env {
		k, _, _ := strings.Cut(e, "=")
		if !drop[k] {
			out = append(out, e)
		}
	}
	for _, c := range change {
		if !strings.HasSuffix(c, "=") {
			out = append(out, c)
		}
	}
	return out
}

// TestStartWithoutDisplaySaysWhyAndWhatToDo starts a VM with a window from
// a session without a display: the CLI prints the runner's whole reason and
// the hint (not "exit status 1"), status remembers it, and nothing runs.
func TestStartWithoutDisplaySaysWhyAndWhatToDo(t *testing.T) {
	v := newGuestVM(t, "no window", testguest.Cmdline(nil, nil))
	out, err := v.runEnv([]string{"DISPLAY=", "WAYLAND_DISPLAY="}, "start", v.name)
	if err == nil {
		t.Fatalf("a windowed start without a display succeeded: %s", out)
	}
	for _, want := range []string{"needs a display", "vivarium start --headless"} {
		if !strings.Contains(out, want) {
			t.Errorf("start said %q; want it to say %q", out, want)
		}
	}
	if strings.Contains(out, "exit status") {
		t.Errorf("start said %q: the runner's reason, not its exit status", out)
	}
	if v.b.Locked() {
		t.Error("the VM is held after a failed start")
	}
	status := v.must("status", v.name)
	if !strings.HasPrefix(status, "stopped") || !strings.Contains(status, "The last run failed") || !strings.Contains(status, "--headless") {
		t.Errorf("status after the failed start: %q", status)
	}
	// A good run clears it.
	v.must("start", "--headless", v.name)
	v.waitConsole(testguest.IdleMarker)
	v.must("stop", "--force", v.name)
	if status := v.must("status", v.name); strings.Contains(status, "last run failed") {
		t.Errorf("status after a good run still shows the old failure: %q", status)
	}
}

// TestKVMThatCannotRunTheGuestEndsWithASentence asks for KVM by name: where
// KVM works the guest boots; where it cannot run the guest (kvm_pvm, nested
// KVM, no /dev/kvm) the start ends within a minute with one sentence naming
// the accelerator and accel = "tcg" — never a hang while status says
// running. VIVARIUM_QEMU_ACCEL=tcg then runs the same VM emulated.
func TestKVMThatCannotRunTheGuestEndsWithASentence(t *testing.T) {
	v := newGuestVM(t, "kvm or not", testguest.Cmdline(nil, nil))
	v.must("set", v.name, "accel=kvm")
	begin := time.Now()
	out, err := v.runEnv([]string{testguest.AccelEnv + "="}, "start", "--headless", "--timeout", "60s", v.name)
	took := time.Since(begin)
	if took > 70*time.Second {
		t.Errorf("start with accel=kvm took %s", took.Round(time.Second))
	}
	if err == nil {
		// This host's KVM runs ordinary guests: it must really boot.
		t.Logf("KVM works here (started in %s)", took.Round(time.Millisecond))
		v.waitConsole(testguest.ReadyMarker)
		v.must("stop", "--force", v.name)
	} else {
		t.Logf("accel=kvm refused in %s: %s", took.Round(time.Millisecond), out)
		if !strings.Contains(out, "kvm") || !strings.Contains(out, "accel=tcg") {
			t.Errorf("start with a KVM that cannot run the guest said %q; want the accelerator named and accel=tcg suggested", out)
		}
		if v.b.Locked() {
			t.Error("the VM is still held after the failed start")
		}
		if got := v.state(); got != "stopped" {
			t.Errorf("status = %q after the failed start, want stopped", got)
		}
	}
	// The host-wide override runs it whatever the VM asks for.
	if out, err := v.runEnv([]string{testguest.AccelEnv + "=tcg"}, "start", "--headless", v.name); err != nil {
		t.Fatalf("VIVARIUM_QEMU_ACCEL=tcg start: %v\n%s", err, out)
	}
	v.waitConsole(testguest.ReadyMarker)
	log, _ := os.ReadFile(v.b.RunnerLogPath())
	if !strings.Contains(string(log), "-accel tcg") || !strings.Contains(string(log), "VIVARIUM_QEMU_ACCEL=tcg") {
		t.Errorf("runner.log does not show the emulated run and why:\n%s", log)
	}
	v.must("stop", "--force", v.name)
}

// TestLibraryWindowWithoutDisplayIsOneLine: `vivarium` over ssh says in one
// line that there is no display and how to get one, not a toolkit panic.
func TestLibraryWindowWithoutDisplayIsOneLine(t *testing.T) {
	bin := vivariumBinary(t)
	cmd := exec.Command(bin)
	cmd.Env = changeEnv(append(os.Environ(), "VIVARIUM_HOME="+t.TempDir()), []string{"DISPLAY=", "WAYLAND_DISPLAY="})
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the window opened without a display: %s", out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "display") || !strings.Contains(lines[0], "Xvfb") {
		t.Errorf("without a display vivarium said (%d lines):\n%s", len(lines), out)
	}
}
