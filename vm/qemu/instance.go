package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/digitalocean/go-qemu/qmp"

	"github.com/vivarium-vm/vivarium/vm"
)

// Timings of a run.
const (
	// readyTimeout bounds the wait for QEMU's monitor when Start's context
	// has no deadline of its own.
	readyTimeout = 60 * time.Second
	// quitGrace is how long ForceStop lets QEMU quit before killing it.
	quitGrace = 3 * time.Second
	// pollInterval is how often Start tries the monitor socket.
	pollInterval = 20 * time.Millisecond
)

// instance is a running QEMU process and its monitor connection.
type instance struct {
	program string // "qemu-system-x86_64", for messages
	bundle  vm.Bundle
	accel   string  // the accelerator it runs with, for what to do when it fails
	version Version // QEMU's own, for what it can do
	cmd     *exec.Cmd
	log     io.Writer
	tail    *tailWriter
	mon     *qmp.SocketMonitor // set by start before the instance is shared
	exited  chan struct{}      // closed once QEMU has exited and err is set
	// disposable: this run's disks are thrown away (no suspend).
	disposable bool
	// headlessDevices: the VM has a headless run's devices (saved states
	// record it, for the run that resumes them).
	headlessDevices bool

	feed    *vm.StateFeed
	changes <-chan vm.State // the runner's subscription to feed

	mu     sync.Mutex
	forced bool  // ForceStop killed it: its death is a stop, not a crash
	fault  error // why Vivarium stopped it (an internal error), if it did
	err    error // why QEMU died, nil for a stop
}

var (
	_ vm.Instance      = (*instance)(nil)
	_ vm.Screenshotter = (*instance)(nil)
)

// start runs QEMU with args and waits until its monitor answers. accel and
// version are what it runs with, for its errors and its screenshots.
func start(ctx context.Context, args []string, b vm.Bundle, log io.Writer, accel string, version Version) (*instance, error) {
	if log == nil {
		log = io.Discard
	}
	in := &instance{
		program: filepath.Base(args[0]),
		bundle:  b,
		accel:   accel,
		version: version,
		log:     log,
		tail:    &tailWriter{},
		exited:  make(chan struct{}),
		feed:    vm.NewStateFeed(vm.StateStarting),
	}
	in.changes, _ = in.feed.Subscribe()
	in.cmd = exec.Command(args[0], args[1:]...)
	out := io.MultiWriter(log, in.tail)
	in.cmd.Stdout, in.cmd.Stderr = out, out
	in.cmd.SysProcAttr = sysProcAttr()
	started := make(chan error, 1)
	go in.supervise(started)
	if err := <-started; err != nil {
		return nil, fmt.Errorf("starting %s: %w", in.program, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readyTimeout)
		defer cancel()
	}
	mon, err := in.connect(ctx)
	if err == nil {
		in.mu.Lock()
		in.mon = mon
		in.mu.Unlock()
		var events <-chan qmp.Event
		if events, err = mon.Events(context.Background()); err == nil {
			go in.watch(events)
			err = in.refreshState(ctx)
		}
	}
	if err != nil {
		return nil, in.abort(err)
	}
	return in, nil
}

// supervise starts QEMU and waits for it on one locked OS thread: the
// parent-death signal fires when the thread that started the child ends,
// so that thread must live as long as QEMU does.
func (in *instance) supervise(started chan<- error) {
	runtime.LockOSThread()
	// Never unlocked: the thread ends with this goroutine, after QEMU.
	if err := in.cmd.Start(); err != nil {
		started <- err
		return
	}
	started <- nil
	in.finish(in.cmd.Wait())
}

// finish records why QEMU exited and closes the instance down.
func (in *instance) finish(waitErr error) {
	in.mu.Lock()
	switch {
	case in.fault != nil:
		in.err = in.fault
	case waitErr == nil, in.forced:
		in.err = nil
	default:
		in.err = in.failure(fmt.Errorf("%s stopped unexpectedly: %w%s", in.program, waitErr, in.tail.lastLines()))
	}
	in.feed.Set(vm.StateStopped)
	mon := in.mon
	in.mu.Unlock()
	close(in.exited)
	if mon != nil {
		mon.Disconnect()
	}
}

// abort ends a start that failed after QEMU was spawned, and says why:
// QEMU's own last words when it exited by itself.
func (in *instance) abort(cause error) error {
	select {
	case <-in.exited:
		// QEMU refused its arguments or died while starting: its stderr
		// says why, much better than a refused connection.
		return in.failure(fmt.Errorf("%s failed to start: %w%s", in.program, in.exitCause(cause), in.tail.lastLines()))
	default:
	}
	in.mu.Lock()
	in.forced = true
	in.mu.Unlock()
	in.cmd.Process.Kill()
	<-in.exited
	return in.failure(fmt.Errorf("%s did not get ready: %w%s", in.program, cause, in.tail.lastLines()))
}

// exitCause is the process's exit status when it has one.
func (in *instance) exitCause(fallback error) error {
	if ps := in.cmd.ProcessState; ps != nil {
		return errors.New(ps.String())
	}
	return fallback
}

// connect waits for QEMU's monitor socket and does the QMP handshake.
func (in *instance) connect(ctx context.Context) (*qmp.SocketMonitor, error) {
	sock := in.bundle.QMPSocketPath()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		mon, err := qmp.NewSocketMonitor("unix", sock, time.Second)
		if err == nil {
			// QEMU makes the socket with its umask; only we may talk to it
			// (run/ is private too).
			os.Chmod(sock, 0o600)
			connected := make(chan error, 1)
			go func() { connected <- mon.Connect() }()
			select {
			case err = <-connected:
			case <-in.exited:
				err = <-connected // QEMU is gone: Connect fails at once
			case <-ctx.Done():
				// Connect is stuck reading QEMU's greeting; it returns once
				// the caller kills QEMU, and only then may it be closed.
				go func() {
					<-connected
					mon.Disconnect()
				}()
				return nil, fmt.Errorf("waiting for the QMP monitor at %s: %w", sock, context.Cause(ctx))
			}
			if err == nil {
				return mon, nil
			}
			mon.Disconnect()
		}
		select {
		case <-in.exited:
			return nil, errors.New("QEMU exited")
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the QMP monitor at %s: %w", sock, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// watch follows QMP events until the connection closes.
func (in *instance) watch(events <-chan qmp.Event) {
	for ev := range events {
		switch ev.Event {
		case "STOP":
			in.mu.Lock()
			if in.feed.State() != vm.StateStopping {
				in.feed.Set(vm.StatePaused)
			}
			in.mu.Unlock()
			// A guest the accelerator cannot run stops with status
			// internal-error: it must not sit there "paused".
			go in.checkInternalError()
		case "RESUME":
			in.setState(vm.StateRunning)
		case "SHUTDOWN":
			in.setState(vm.StateStopping)
		case "BLOCK_IO_ERROR":
			fmt.Fprintf(in.log, "qemu: disk error %v: the VM is paused when the host disk is full; free space, then resume it\n", ev.Data)
		case "POWERDOWN", "RESET", "GUEST_PANICKED":
			fmt.Fprintf(in.log, "qemu: %s %v\n", ev.Event, ev.Data)
		}
	}
}

func (in *instance) setState(s vm.State) { in.feed.Set(s) }

// State is the VM's state now.
func (in *instance) State() vm.State { return in.feed.State() }

// Changes delivers each state change; it is closed once QEMU has exited.
func (in *instance) Changes() <-chan vm.State { return in.changes }

// Pause stops the guest's CPUs.
func (in *instance) Pause(ctx context.Context) error {
	if _, err := in.run(ctx, "stop", nil); err != nil {
		return fmt.Errorf("pausing: %w", err)
	}
	in.setState(vm.StatePaused)
	return nil
}

// Resume runs a paused guest again.
func (in *instance) Resume(ctx context.Context) error {
	if _, err := in.run(ctx, "cont", nil); err != nil {
		return fmt.Errorf("resuming: %w", err)
	}
	in.setState(vm.StateRunning)
	return nil
}

// RequestStop presses the guest's ACPI power button. A paused guest is
// resumed first: it cannot see the button otherwise.
func (in *instance) RequestStop(ctx context.Context) error {
	if in.State() == vm.StatePaused {
		if err := in.Resume(ctx); err != nil {
			return fmt.Errorf("asking the guest to shut down: %w", err)
		}
	}
	if _, err := in.run(ctx, "system_powerdown", nil); err != nil {
		return fmt.Errorf("asking the guest to shut down: %w", err)
	}
	return nil
}

// ForceStop asks QEMU to quit and kills it if it has not after quitGrace.
// It returns once QEMU has exited.
func (in *instance) ForceStop(ctx context.Context) error {
	in.mu.Lock()
	in.forced = true
	in.feed.Set(vm.StateStopping)
	in.mu.Unlock()
	qctx, cancel := context.WithTimeout(ctx, quitGrace)
	defer cancel()
	// QEMU may hang up before it answers "quit": the exit is the answer.
	in.run(qctx, "quit", nil)
	grace := time.NewTimer(quitGrace)
	defer grace.Stop()
	select {
	case <-in.exited:
		return nil
	case <-grace.C:
	case <-ctx.Done():
	}
	in.cmd.Process.Kill()
	select {
	case <-in.exited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("force stop: %s (pid %d) has not exited: %w", in.program, in.cmd.Process.Pid, context.Cause(ctx))
	}
}

// Wait blocks until QEMU has exited. It returns nil for a guest power-off
// or a stop, else why QEMU died, with its last messages.
func (in *instance) Wait(ctx context.Context) error {
	select {
	case <-in.exited:
		return in.err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Screenshot saves the guest's screen as a PNG file at path: QEMU writes
// the PNG itself (7.1 and later).
func (in *instance) Screenshot(ctx context.Context, path string) error {
	if !in.version.AtLeast(pngScreendump.Major, pngScreendump.Minor) {
		return fmt.Errorf("screenshot: %w: QEMU %s cannot save the screen as PNG; thumbnails need QEMU %d.%d or later",
			vm.ErrUnsupported, in.version, pngScreendump.Major, pngScreendump.Minor)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	if _, err := in.run(ctx, "screendump", map[string]string{"filename": abs, "format": "png"}); err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return nil
}

// checkInternalError asks QEMU, after the guest stopped, whether it stopped
// because QEMU could not go on (status internal-error: "KVM internal error",
// an emulation failure). Such a VM is stopped, with the reason.
func (in *instance) checkInternalError() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	status, _, err := in.status(ctx)
	if err != nil || status != "internal-error" {
		return
	}
	fault := in.failure(fmt.Errorf("%s stopped the guest with an internal error (accelerator %s)%s", in.program, in.accel, in.tail.lastLines()))
	if !errors.Is(fault, vm.ErrAccelerator) {
		fault = vm.WithHint(fault, "see run/runner.log; the guest may have done something QEMU cannot emulate")
	}
	fmt.Fprintf(in.log, "qemu: %v\n", fault)
	in.mu.Lock()
	in.fault = fault
	in.mu.Unlock()
	in.ForceStop(context.Background())
}

// refreshState sets the state from what QEMU says.
func (in *instance) refreshState(ctx context.Context) error {
	status, running, err := in.status(ctx)
	if err != nil {
		return err
	}
	switch {
	case running:
		in.setState(vm.StateRunning)
	case status == "shutdown":
		in.setState(vm.StateStopping)
	default:
		in.setState(vm.StatePaused)
	}
	return nil
}

// status asks QEMU for the guest's run state ("running", "paused", ...).
func (in *instance) status(ctx context.Context) (status string, running bool, err error) {
	out, err := in.run(ctx, "query-status", nil)
	if err != nil {
		return "", false, err
	}
	var r struct {
		Return struct {
			Status  string `json:"status"`
			Running bool   `json:"running"`
		} `json:"return"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return "", false, fmt.Errorf("query-status: %w", err)
	}
	return r.Return.Status, r.Return.Running, nil
}

// run sends one QMP command and returns QEMU's answer. go-qemu's Run takes
// no context, so it runs aside and a cancelled ctx stops only the waiting.
func (in *instance) run(ctx context.Context, command string, args any) ([]byte, error) {
	select {
	case <-in.exited:
		return nil, vm.ErrNotRunning
	default:
	}
	cmd, err := json.Marshal(qmp.Command{Execute: command, Args: args})
	if err != nil {
		return nil, err
	}
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := in.mon.Run(cmd)
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("QMP %s: %w", command, r.err)
		}
		return r.out, nil
	case <-in.exited:
		return nil, vm.ErrNotRunning
	case <-ctx.Done():
		return nil, fmt.Errorf("QMP %s: %w", command, context.Cause(ctx))
	}
}

// tailWriter keeps the last bytes QEMU printed, for error messages.
type tailWriter struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 4096

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

// lastLines returns QEMU's last few lines of output, each on its own line
// after a colon; "" when it printed nothing.
func (t *tailWriter) lastLines() string {
	text := t.text()
	if text == "" {
		return ""
	}
	lines := strings.Split(text, "\n")
	if len(lines) > 6 {
		lines = lines[len(lines)-6:]
	}
	return ":\n" + strings.Join(lines, "\n")
}

func (t *tailWriter) text() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// failure gives err, a QEMU failure, its kind and what to do, from what QEMU
// said: an accelerator that cannot run the guest is vm.ErrAccelerator, with
// the setting that avoids it.
func (in *instance) failure(err error) error {
	return explain(err, in.tail.text(), in.bundle.Name(), in.accel)
}

// acceleratorFailures are what QEMU says when KVM or HVF cannot run a
// guest: nested or PVM KVM, a CPU feature the host's KVM refuses.
var acceleratorFailures = []string{
	"KVM internal error", "kvm run failed", "failed to set MSR", "kvm_buf_set_msrs",
	"failed to initialize kvm", "failed to initialize KVM", "Could not access KVM kernel module",
	"HV_ERROR", "hv_vm_create", "failed to initialize hvf",
}

// explain adds to err the kind and hint that fit what QEMU said (qemuSaid);
// err unchanged when none does.
func explain(err error, qemuSaid, vmName, accel string) error {
	if accel == AccelKVM || accel == AccelHVF {
		for _, s := range acceleratorFailures {
			if strings.Contains(qemuSaid, s) {
				return vm.WithHint(fmt.Errorf("%w (%s): %w", vm.ErrAccelerator, accel, err),
					fmt.Sprintf("run it emulated: vivarium set %s accel=tcg (or Accelerator: tcg in its settings), or set VIVARIUM_QEMU_ACCEL=tcg for every VM on this host",
						shellQuote(vmName)))
			}
		}
	}
	hints := []struct {
		says, hint string
		kind       error
	}{
		{"Display 'gtk' is not available", "QEMU was installed without its window (Debian/Ubuntu: apt-get install qemu-system-gui), or start the VM headless", nil},
		{"gtk initialization failed", "QEMU cannot open its window here: start the VM headless (vivarium start --headless), or from a desktop session (DISPLAY set)", vm.ErrNoDisplay},
		{"Display 'cocoa' is not available", "this QEMU has no macOS window (brew install qemu), or start the VM headless", nil},
		{`"write" lock`, "another program has this disk open: stop it, then start the VM again", nil},
		{"access denied by acl file", "let QEMU use the bridge: add the line 'allow <bridge>' to /etc/qemu/bridge.conf, or use NAT", nil},
		{"cannot create vmnet interface", "bridged networking with QEMU on macOS needs root; use NAT, or the vz backend", nil},
	}
	var said []string
	for _, h := range hints {
		if strings.Contains(qemuSaid, h.says) {
			said = append(said, h.hint)
			if h.kind != nil && !errors.Is(err, h.kind) {
				err = fmt.Errorf("%w: %w", h.kind, err)
			}
		}
	}
	return vm.WithHint(err, strings.Join(said, "\n"))
}

// shellQuote quotes s for a POSIX shell when it needs quoting: a VM name
// in a command a person copies, a path in an exec: migration.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`;&|<>()*?[]#~!{}") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
