package testguest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// AccelEnv is the variable Vivarium's QEMU backend takes its accelerator
// from (vm/qemu.AccelEnv, which this package cannot import: the backend's
// own tests import this one).
const AccelEnv = "VIVARIUM_QEMU_ACCEL"

// RequireEnv, when set to 1 (CI sets it), turns every skip of a real-guest
// test into a failure: a missing QEMU or guest must not pass as green.
const RequireEnv = "VIVARIUM_REQUIRE_QEMU"

// probeTimeout bounds the KVM probe boot: the guest is ready in about a
// second with a working KVM; a broken one dies at once or hangs.
const probeTimeout = 30 * time.Second

// AccelChoice is the accelerator the real-guest tests use, and why.
type AccelChoice struct {
	Accel string // "kvm" or "tcg"
	Why   string
}

func (c AccelChoice) String() string { return c.Accel + " (" + c.Why + ")" }

// QEMUAccelArgs are the -accel and -cpu arguments for a plain QEMU command
// line run with this choice.
func (c AccelChoice) QEMUAccelArgs() []string {
	if c.Accel == "kvm" {
		return []string{"-accel", "kvm", "-cpu", "host"}
	}
	return []string{"-accel", "tcg", "-cpu", "max"}
}

// SkipOrFail skips t with reason, or fails it when RequireEnv is set: in
// CI a real-guest test that did not run is a failure, not a pass.
func SkipOrFail(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s (%s=1: this test must run here)", reason, RequireEnv)
	}
	t.Skip(reason)
}

var (
	accelOnce   sync.Once
	accelChoice AccelChoice
	accelErr    error
)

// UseAccel decides once per process which accelerator really boots the
// guest (see Accel) and puts it in AccelEnv, so that every VM the tests
// start, through the backend, the CLI or a runner, uses it.
func UseAccel(ctx context.Context, g Guest) (AccelChoice, error) {
	accelOnce.Do(func() {
		accelChoice, accelErr = Accel(ctx, g)
		if accelErr == nil {
			accelErr = os.Setenv(AccelEnv, accelChoice.Accel)
		}
	})
	return accelChoice, accelErr
}

// Accel is the accelerator the real-guest tests use: AccelEnv when a person
// (or make test, after its own probe) set it; else the answer of a probe
// boot of g with KVM, remembered for this boot of the host in the guest's
// cache folder; TCG when there is no /dev/kvm to try.
func Accel(ctx context.Context, g Guest) (AccelChoice, error) {
	if v := os.Getenv(AccelEnv); v != "" {
		return AccelChoice{Accel: v, Why: AccelEnv + " is set"}, nil
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return AccelChoice{Accel: "tcg", Why: fmt.Sprintf("/dev/kvm cannot be used: %v", err)}, nil
	}
	f.Close()
	cache := filepath.Join(g.Dir, "accel-probe")
	boot := bootID()
	if b, err := os.ReadFile(cache); err == nil && boot != "" {
		if id, rest, ok := strings.Cut(string(b), "\n"); ok && id == boot {
			if accel, why, ok := strings.Cut(strings.TrimSpace(rest), " "); ok {
				return AccelChoice{Accel: accel, Why: why + " (probed earlier since this host booted)"}, nil
			}
		}
	}
	c, err := ProbeKVM(ctx, g)
	if err != nil {
		return AccelChoice{}, err
	}
	if boot != "" {
		os.WriteFile(cache, []byte(boot+"\n"+c.Accel+" "+c.Why+"\n"), 0o644)
	}
	return c, nil
}

// ProbeKVM boots g with KVM and waits, at most probeTimeout, for its ready
// marker: KVM when it comes, else TCG with what went wrong (QEMU's last
// words, or the silence). A /dev/kvm that opens can still be unable to run
// an ordinary guest: kvm_pvm runs only PVM kernels, nested KVM may fail
// with "KVM internal error".
func ProbeKVM(ctx context.Context, g Guest) (AccelChoice, error) {
	qemu, reason := QEMUAvailable()
	if reason != "" {
		return AccelChoice{}, errors.New(reason)
	}
	dir, err := os.MkdirTemp("", "vivarium-kvm-probe-")
	if err != nil {
		return AccelChoice{}, err
	}
	defer os.RemoveAll(dir)
	console := filepath.Join(dir, "console.log")
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	start := time.Now()
	args := append([]string{"-M", "q35", "-nodefaults", "-m", "256"}, AccelChoice{Accel: "kvm"}.QEMUAccelArgs()...)
	args = append(args, "-kernel", g.Kernel, "-initrd", g.Initrd, "-append", Cmdline(nil, []string{ActionPoweroff}),
		"-serial", "file:"+console, "-display", "none", "-no-reboot")
	cmd := exec.CommandContext(ctx, qemu, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return AccelChoice{}, fmt.Errorf("KVM probe: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	ready := make(chan error, 1)
	go func() { _, err := WaitForMarker(ctx, console, ReadyMarker); ready <- err }()
	var waitErr error
	select {
	case waitErr = <-ready:
	case <-exited:
		// It may have printed the marker just before it powered off.
		b, _ := os.ReadFile(console)
		if !strings.Contains(string(b), ReadyMarker) {
			waitErr = errors.New("QEMU exited before the guest was ready")
		}
	}
	cancel()
	<-exited
	took := time.Since(start).Round(100 * time.Millisecond)
	if waitErr == nil {
		return AccelChoice{Accel: "kvm", Why: fmt.Sprintf("a probe boot with KVM was ready in %s", took)}, nil
	}
	said := strings.TrimSpace(out.String())
	if said == "" {
		said = fmt.Sprintf("the guest printed nothing in %s", took)
	}
	said = strings.Join(strings.Fields(firstLine(said)), " ")
	pvm := ""
	if _, err := os.Stat("/sys/module/kvm_pvm"); err == nil {
		pvm = " (this host's KVM is kvm_pvm, which runs only PVM kernels)"
	}
	return AccelChoice{Accel: "tcg", Why: fmt.Sprintf("/dev/kvm opens but a probe boot with KVM failed after %s: %s%s", took, said, pvm)}, nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// bootID names this boot of the host, so a remembered probe is not trusted
// after a reboot (or on another machine with the same cache).
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
