package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/control"
	"github.com/vivarium-vm/vivarium/vm/hostcap"
	"github.com/vivarium-vm/vivarium/vm/runner"
	"github.com/vivarium-vm/vivarium/vm/snapshot"
)

// controlAsker asks runners for their VM's state over the control socket.
type controlAsker struct{}

func (controlAsker) AskState(ctx context.Context, b vm.Bundle) (vm.State, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return control.NewClient(b.ControlSocketPath()).Status(ctx)
}

type runFlags struct {
	disposable, headless, recovery bool
}

func (f *runFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.disposable, "disposable", false, "run without keeping changes to the disks")
	cmd.Flags().BoolVar(&f.headless, "headless", false, "no window: the serial console goes to run/console.log")
	cmd.Flags().BoolVar(&f.recovery, "recovery", false, "boot a macOS guest into recoveryOS")
}

func (f *runFlags) args() []string {
	var a []string
	for flag, on := range map[string]bool{"--disposable": f.disposable, "--headless": f.headless, "--recovery": f.recovery} {
		if on {
			a = append(a, flag)
		}
	}
	return a
}

func addRunCommands(root *cobra.Command, e *env) {
	root.AddCommand(runCommand(e), startCommand(e), stopCommand(e), statusCommand(e), consoleCommand(e),
		logsCommand(e), screenshotCommand(e),
		controlCommand(e, "pause", "Pause a running VM", control.Request{Op: control.OpPause}),
		controlCommand(e, "resume", "Resume a paused VM", control.Request{Op: control.OpResume}),
		suspendCommand(e),
		controlCommand(e, "window", "Open a running VM's window again after it was closed, or bring it to the front (QEMU's SPICE window on Linux)", control.Request{Op: control.OpShow}))
}

func runCommand(e *env) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run NAME",
		Short: "Run a VM in this process until it stops (what 'start' spawns)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			return runner.Run(cmd.Context(), lib, args[0], e.backendFor, runner.Options{
				Disposable: f.disposable, Headless: f.headless, Recovery: f.recovery,
				ThumbnailEvery: 30 * time.Second, Log: cmd.ErrOrStderr(),
			})
		},
	}
	f.add(cmd)
	return cmd
}

func startCommand(e *env) *cobra.Command {
	var f runFlags
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "start NAME",
		Short: "Start a VM in the background; returns once it runs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			state, err := startRunner(ctx, lib, args[0], f.args())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is %s.\n", args[0], state)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long to wait for the VM to run")
	return cmd
}

// startRunner spawns 'vivarium run NAME' detached (its own session, output
// to run/runner.log) and waits until the VM runs or the runner fails, whose
// error it then returns.
func startRunner(ctx context.Context, lib *vm.Library, name string, extra []string) (vm.State, error) {
	info, err := lib.Inspect(ctx, name)
	if err != nil {
		return "", err
	}
	if info.State.Active() {
		return info.State, fmt.Errorf("%s is already running: %w", name, vm.ErrRunning)
	}
	if info.Err != nil {
		return "", info.Err
	}
	if err := checkMacOSGuestLimit(ctx, lib, info); err != nil {
		return "", err
	}
	b := info.Bundle()
	if err := b.EnsureRunDir(); err != nil {
		return "", err
	}
	logf, err := os.OpenFile(b.RunnerLogPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return "", err
	}
	defer logf.Close()
	logStart, _ := logf.Seek(0, io.SeekEnd)
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	args := append([]string{"run", name, "--library", lib.Root}, extra...)
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting the runner: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	client := control.NewClient(b.ControlSocketPath())
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-exited:
			// The runner saved why it failed, whole; older runners (and
			// failures before it held the VM) only said it in the log.
			if p, err := b.LastError(); err == nil && p != nil {
				return "", p
			}
			return "", runnerError(b.RunnerLogPath(), logStart, name)
		case <-ctx.Done():
			return "", fmt.Errorf("%s did not start in time (%w); see 'vivarium logs %s'", name, ctx.Err(), name)
		case <-tick.C:
			s, err := client.Status(ctx)
			// Another start may have won the race: the VM runs, but under
			// that runner, and ours is about to say so and exit.
			ours := readPID(b) == strconv.Itoa(cmd.Process.Pid)
			if err == nil && ours && (s == vm.StateRunning || s == vm.StatePaused) {
				return s, nil
			}
		}
	}
}

// checkMacOSGuestLimit refuses, before anything is touched, to start a
// macOS guest when Apple's limit of macOS guests already run.
func checkMacOSGuestLimit(ctx context.Context, lib *vm.Library, info *vm.Info) error {
	if info.Config == nil || info.Config.OS != vm.OSMacOS {
		return nil
	}
	infos, err := lib.List(ctx)
	if err != nil {
		return err
	}
	running := 0
	for _, i := range infos {
		if i.Config != nil && i.Config.OS == vm.OSMacOS && i.State.Active() {
			running++
		}
	}
	return hostcap.CheckMacOSGuestLimit(running)
}

// runnerError reads why a runner exited from what it wrote to runner.log.
func runnerError(logPath string, from int64, name string) error {
	data, _ := os.ReadFile(logPath)
	if int64(len(data)) > from {
		data = data[from:]
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if msg, ok := strings.CutPrefix(lines[i], "vivarium: "); ok {
			if strings.Contains(msg, "already running") {
				return fmt.Errorf("%s is already running: %w", name, vm.ErrRunning)
			}
			return errors.New(msg)
		}
	}
	return fmt.Errorf("the runner for %s exited; see 'vivarium logs %s'", name, name)
}

func stopCommand(e *env) *cobra.Command {
	var force bool
	var timeout time.Duration
	var keepAs string
	cmd := &cobra.Command{
		Use:   "stop NAME",
		Short: "Shut a VM down: ask the guest, wait, then force it off",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			if keepAs != "" {
				m := &snapshot.Manager{Library: lib, Runner: controlRunner{}}
				if err := m.Keep(cmd.Context(), args[0], keepAs); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Kept this disposable run of %s as the new VM %s.\n", args[0], keepAs)
			}
			how, err := stopVM(cmd.Context(), lib, args[0], force, timeout)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s stopped (%s).\n", args[0], how)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "force it off at once, like pulling the plug")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "how long the guest may take to shut down before it is forced off")
	cmd.Flags().StringVar(&keepAs, "keep-as", "", "of a disposable run: first keep its disks as a new VM with this name")
	return cmd
}

// stopVM asks the guest to shut down and waits up to timeout for the runner
// to let go of the VM; then it forces the VM off.
func stopVM(ctx context.Context, lib *vm.Library, name string, force bool, timeout time.Duration) (string, error) {
	b, err := lib.Bundle(name)
	if err != nil {
		return "", err
	}
	if !b.Locked() {
		if _, err := lib.Inspect(ctx, name); err != nil {
			return "", err
		}
		return "", fmt.Errorf("%s: %w", name, vm.ErrNotRunning)
	}
	client := control.NewClient(b.ControlSocketPath())
	if !force {
		if _, err := client.Do(ctx, control.Request{Op: control.OpStop}); err != nil {
			return "", fmt.Errorf("asking %s to shut down: %w", name, err)
		}
		if waitUnlocked(ctx, b, timeout) {
			return "the guest shut down", nil
		}
	}
	_, forceErr := client.Do(ctx, control.Request{Op: control.OpStop, Force: true})
	if !waitUnlocked(ctx, b, 30*time.Second) {
		if forceErr != nil {
			return "", fmt.Errorf("forcing %s off: %w", name, forceErr)
		}
		return "", fmt.Errorf("%s did not stop; its runner is process %s", name, readPID(b))
	}
	if force {
		return "forced off", nil
	}
	return fmt.Sprintf("forced off after %s", timeout), nil
}

func waitUnlocked(ctx context.Context, b vm.Bundle, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if !b.Locked() {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return !b.Locked()
}

func readPID(b vm.Bundle) string {
	data, _ := os.ReadFile(b.PIDPath())
	return strings.TrimSpace(string(data))
}

// suspendCommand saves a running VM's state and returns once the runner has
// let go of it, so the VM reads as suspended when the command ends.
func suspendCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "suspend NAME",
		Short: "Save a running VM's state and stop it; the next start resumes it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			if _, err := sendControl(cmd.Context(), lib, args[0], control.Request{Op: control.OpSuspend}); err != nil {
				return err
			}
			b, err := lib.Bundle(args[0])
			if err != nil {
				return err
			}
			if !waitUnlocked(cmd.Context(), b, time.Minute) {
				return fmt.Errorf("%s saved its state, but its runner (process %s) has not exited; see 'vivarium logs %s'", args[0], readPID(b), args[0])
			}
			info, err := lib.Inspect(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is %s.\n", args[0], info.State)
			return nil
		},
	}
}

func controlCommand(e *env, verb, short string, req control.Request) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			state, err := sendControl(cmd.Context(), lib, args[0], req)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is %s.\n", args[0], state)
			return nil
		},
	}
}

func sendControl(ctx context.Context, lib *vm.Library, name string, req control.Request) (vm.State, error) {
	b, err := lib.Bundle(name)
	if err != nil {
		return "", err
	}
	if !b.Locked() {
		if _, err := lib.Inspect(ctx, name); err != nil {
			return "", err
		}
		return "", fmt.Errorf("%s: %w; start it first", name, vm.ErrNotRunning)
	}
	state, err := control.NewClient(b.ControlSocketPath()).Do(ctx, req)
	if err != nil {
		return state, fmt.Errorf("%s: %w", name, err)
	}
	return state, nil
}

func statusCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "Print a VM's state",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			info, err := lib.Inspect(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			// Why the last run failed, while the VM is not running again.
			var last *vm.Problem
			if !info.State.Active() {
				last, _ = info.Bundle().LastError()
			}
			if e.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"name": info.Name, "state": info.State, "error": info.Error, "last_error": last})
			}
			fmt.Fprintln(cmd.OutOrStdout(), info.State)
			if info.Err != nil {
				fmt.Fprintln(cmd.OutOrStdout(), info.Error)
			}
			if last != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "The last run failed (%s): %v\n", last.Time.Local().Format("2006-01-02 15:04:05"), last)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&e.json, "json", false, "print JSON")
	return cmd
}

func consoleCommand(e *env) *cobra.Command {
	var noFollow bool
	var until string
	cmd := &cobra.Command{
		Use:   "console NAME",
		Short: "Show a VM's serial console (run/console.log), following it while the VM runs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			b, err := lib.Bundle(args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var seen *untilWriter
			if until != "" {
				seen = &untilWriter{w: out, text: []byte(until)}
				out = seen
			}
			return follow(cmd.Context(), out, b.ConsoleLogPath(), func() bool {
				return !noFollow && b.Locked() && (seen == nil || !seen.found)
			})
		},
	}
	cmd.Flags().BoolVar(&noFollow, "no-follow", false, "print what is there and exit")
	cmd.Flags().StringVar(&until, "until", "", "stop following once this text appears")
	return cmd
}

func logsCommand(e *env) *cobra.Command {
	var followFlag bool
	cmd := &cobra.Command{
		Use:   "logs NAME",
		Short: "Show the runner's log (run/runner.log)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			b, err := lib.Bundle(args[0])
			if err != nil {
				return err
			}
			return follow(cmd.Context(), cmd.OutOrStdout(), b.RunnerLogPath(), func() bool { return followFlag && b.Locked() })
		},
	}
	cmd.Flags().BoolVarP(&followFlag, "follow", "f", false, "keep printing while the VM runs")
	return cmd
}

// follow copies path to w, and keeps copying new data while more() holds.
func follow(ctx context.Context, w io.Writer, path string, more func() bool) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		if !more() {
			return fmt.Errorf("%s does not exist yet: the VM has not run", path)
		}
		for err != nil && more() && ctx.Err() == nil {
			time.Sleep(200 * time.Millisecond)
			f, err = os.Open(path)
		}
	}
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		if _, err := io.Copy(w, f); err != nil {
			return err
		}
		if !more() || ctx.Err() != nil {
			_, err := io.Copy(w, f)
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// untilWriter passes writes through and notes when text has appeared.
type untilWriter struct {
	w     io.Writer
	text  []byte
	tail  []byte
	found bool
}

func (u *untilWriter) Write(p []byte) (int, error) {
	u.tail = append(u.tail, p...)
	if bytes.Contains(u.tail, u.text) {
		u.found = true
	}
	if keep := len(u.text); len(u.tail) > keep {
		u.tail = u.tail[len(u.tail)-keep:]
	}
	return u.w.Write(p)
}

func screenshotCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "screenshot NAME [FILE.png]",
		Short: "Save a running VM's screen as PNG (default: its library thumbnail)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			b, err := lib.Bundle(args[0])
			if err != nil {
				return err
			}
			path := b.ThumbnailPath()
			if len(args) == 2 {
				path = args[1]
			}
			if !strings.HasPrefix(path, "/") {
				wd, _ := os.Getwd()
				path = wd + "/" + path
			}
			if _, err := sendControl(cmd.Context(), lib, args[0], control.Request{Op: control.OpScreenshot, Path: path}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Saved %s.\n", path)
			return nil
		},
	}
}
