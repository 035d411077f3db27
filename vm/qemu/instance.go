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

	mu      sync.Mutex
	state   vm.State
	changes chan vm.State
	forced  bool  // ForceStop killed it: its death is a stop, not a crash
	err     error // why QEMU died, nil for a stop
}

var (
	_ vm.Instance      = (*instance)(nil)
	_ vm.Screenshotter = (*instance)(nil)
)

// start runs QEMU with args and waits until its monitor answers.
func start(ctx context.Context, args []string, b vm.Bundle, log io.Writer) (*instance, error) {
	if log == nil {
		log = io.Discard
	}
	in := &instance{
		program: filepath.Base(args[0]),
		bundle:  b,
		log:     log,
		tail:    &tailWriter{},
		exited:  make(chan struct{}),
		state:   vm.StateStarting,
		changes: make(chan vm.State, 16),
	}
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
	case waitErr == nil, in.forced:
		in.err = nil
	default:
		in.err = fmt.Errorf("%s stopped unexpectedly: %w%s", in.program, waitErr, in.tail.lastLines())
	}
	in.setStateLocked(vm.StateStopped)
	close(in.changes)
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
		return fmt.Errorf("%s failed to start: %w%s", in.program, in.exitCause(cause), in.tail.lastLines())
	default:
	}
	in.mu.Lock()
	in.forced = true
	in.mu.Unlock()
	in.cmd.Process.Kill()
	<-in.exited
	return fmt.Errorf("%s did not get ready: %w%s", in.program, cause, in.tail.lastLines())
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
			if in.state != vm.StateStopping {
				in.setStateLocked(vm.StatePaused)
			}
			in.mu.Unlock()
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

func (in *instance) setState(s vm.State) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.setStateLocked(s)
}

// setStateLocked records s and delivers it on Changes. A reader who falls
// behind loses the oldest changes, never the latest.
func (in *instance) setStateLocked(s vm.State) {
	if in.state == s || in.state == vm.StateStopped {
		return
	}
	in.state = s
	for {
		select {
		case in.changes <- s:
			return
		default:
			select {
			case <-in.changes:
			default:
			}
		}
	}
}

// State is the VM's state now.
func (in *instance) State() vm.State {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.state
}

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
	in.setStateLocked(vm.StateStopping)
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

// Screenshot saves the guest's screen as a PNG file at path.
func (in *instance) Screenshot(ctx context.Context, path string) error {
	f, err := os.CreateTemp(in.bundle.RunDir(), "screendump-*.ppm")
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	ppm := f.Name()
	f.Close()
	defer os.Remove(ppm)
	if _, err := in.run(ctx, "screendump", map[string]string{"filename": ppm}); err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	if err := ppmToPNG(ppm, path); err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return nil
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
// after a colon, with a hint when one is known; "" when it printed nothing.
func (t *tailWriter) lastLines() string {
	t.mu.Lock()
	text := strings.TrimSpace(string(t.buf))
	t.mu.Unlock()
	if text == "" {
		return ""
	}
	lines := strings.Split(text, "\n")
	if len(lines) > 6 {
		lines = lines[len(lines)-6:]
	}
	return ":\n" + strings.Join(lines, "\n") + hintFor(text)
}

// hintFor turns QEMU messages it knows into what to do, each on a line of
// its own after a newline; "" when it knows none.
func hintFor(qemuSaid string) string {
	hints := []struct{ says, hint string }{
		{"Display 'gtk' is not available", "QEMU was installed without its window (Debian/Ubuntu: apt-get install qemu-system-gui), or start the VM headless"},
		{"Display 'cocoa' is not available", "this QEMU has no macOS window (brew install qemu), or start the VM headless"},
		{`"write" lock`, "another program has this disk open: stop it, then start the VM again"},
		{"access denied by acl file", "let QEMU use the bridge: add the line 'allow <bridge>' to /etc/qemu/bridge.conf, or use NAT"},
		{"cannot create vmnet interface", "bridged networking with QEMU on macOS needs root; use NAT, or the vz backend"},
	}
	var b strings.Builder
	for _, h := range hints {
		if strings.Contains(qemuSaid, h.says) {
			b.WriteString("\n" + h.hint)
		}
	}
	return b.String()
}
