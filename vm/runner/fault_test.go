package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/control"
	"github.com/vivarium-vm/vivarium/vm/vmtest"
)

// The test binary doubles as a runner process (and as a probe run as
// another user): these variables, when set, tell it which.
const (
	helperLibEnv    = "VIVARIUM_TEST_RUNNER_LIBRARY" // run the VM "fake" of this library
	helperStartsEnv = "VIVARIUM_TEST_RUNNER_STARTS"  // append the pid here when the VM starts
	helperGateEnv   = "VIVARIUM_TEST_RUNNER_GATE"    // wait for a byte on stdin first
	probeEnv        = "VIVARIUM_TEST_PROBE"          // JSON probeRequest: try to reach a runner
)

// Exit codes of the helper runner.
const (
	exitStopped        = 0
	exitFailed         = 1
	exitAlreadyRunning = 3
)

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(helperLibEnv) != "":
		os.Exit(helperRunner(os.Getenv(helperLibEnv), os.Getenv(helperStartsEnv), os.Getenv(helperGateEnv) != ""))
	case os.Getenv(probeEnv) != "":
		os.Exit(probe(os.Getenv(probeEnv)))
	}
	os.Exit(m.Run())
}

// startRecorder is the fake backend, noting each VM start in a file shared
// by every runner process of a test.
type startRecorder struct {
	*vmtest.Backend
	path string
}

func (r startRecorder) Start(ctx context.Context, spec *vm.RunSpec) (vm.Instance, error) {
	inst, err := r.Backend.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	_, err = fmt.Fprintln(f, os.Getpid())
	return inst, err
}

// helperRunner is a runner process, as 'vivarium run fake' would be with
// the fake backend.
func helperRunner(root, starts string, gate bool) int {
	if gate {
		var b [1]byte
		os.Stdin.Read(b[:])
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	lib := &vm.Library{Root: root}
	be := startRecorder{Backend: &vmtest.Backend{}, path: starts}
	err := Run(ctx, lib, "fake", func(string) (vm.Backend, error) { return be, nil }, Options{StopTimeout: 5 * time.Second})
	switch {
	case err == nil:
		return exitStopped
	case errors.Is(err, vm.ErrRunning):
		fmt.Fprintln(os.Stderr, err)
		return exitAlreadyRunning
	default:
		fmt.Fprintln(os.Stderr, err)
		return exitFailed
	}
}

// runnerProc is a runner running in its own process.
type runnerProc struct {
	cmd    *exec.Cmd
	gate   io.WriteCloser
	stderr bytes.Buffer
	exited chan struct{}
}

// spawnRunner starts a runner process for lib's VM "fake". With gated set it
// waits for release() before it tries to take the VM.
func spawnRunner(t *testing.T, lib *vm.Library, starts string, gated bool) *runnerProc {
	t.Helper()
	p := &runnerProc{exited: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], "-test.run=^$")
	p.cmd.Env = append(os.Environ(), helperLibEnv+"="+lib.Root, helperStartsEnv+"="+starts)
	if gated {
		p.cmd.Env = append(p.cmd.Env, helperGateEnv+"=1")
		w, err := p.cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		p.gate = w
	}
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
	return p
}

func (p *runnerProc) release() { p.gate.Write([]byte{1}); p.gate.Close() }

// exitCode waits up to timeout for the process to end; -1 if it did not.
func (p *runnerProc) exitCode(timeout time.Duration) int {
	if !p.running() {
		return p.cmd.ProcessState.ExitCode()
	}
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		return -1
	}
}

func (p *runnerProc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// waitRunning waits until the VM's control socket says it runs, or fails
// the test with what the runners printed.
func waitRunning(t *testing.T, b vm.Bundle, procs ...*runnerProc) {
	t.Helper()
	client := control.NewClient(b.ControlSocketPath())
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s, err := client.Status(ctx)
		cancel()
		if err == nil && s == vm.StateRunning {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	var out []string
	for _, p := range procs {
		out = append(out, strings.TrimSpace(p.stderr.String()))
	}
	t.Fatalf("no runner answered as running within 10s; runners printed %q", out)
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "\n")
}

// TestRacingRunnersExactlyOneWins starts two runners of the same VM at the
// same moment, 50 times: each time exactly one runs the VM and the other
// says it is already running.
func TestRacingRunnersExactlyOneWins(t *testing.T) {
	rounds := 50
	if testing.Short() {
		rounds = 10
	}
	lib, b, _ := setup(t, false)
	starts := filepath.Join(t.TempDir(), "starts")
	client := control.NewClient(b.ControlSocketPath())
	for round := 0; round < rounds; round++ {
		os.Remove(starts)
		a, c := spawnRunner(t, lib, starts, true), spawnRunner(t, lib, starts, true)
		a.release()
		c.release()
		waitRunning(t, b, a, c)
		// The loser gives up at once; the winner runs until it is stopped.
		var loser, winner *runnerProc
		for deadline := time.Now().Add(10 * time.Second); loser == nil && time.Now().Before(deadline); {
			switch {
			case !a.running():
				loser, winner = a, c
			case !c.running():
				loser, winner = c, a
			default:
				time.Sleep(5 * time.Millisecond)
			}
		}
		if loser == nil {
			t.Fatalf("round %d: two runners of one VM both still run after 10s", round)
		}
		if code := loser.exitCode(0); code != exitAlreadyRunning || !strings.Contains(loser.stderr.String(), "already running") {
			t.Fatalf("round %d: the losing runner exited %d saying %q; want it to say the VM is already running", round, code, loser.stderr.String())
		}
		if n := countLines(t, starts); n != 1 {
			t.Fatalf("round %d: the VM was started %d times by two racing runners, want once", round, n)
		}
		if !winner.running() {
			t.Fatalf("round %d: the winning runner exited: %s", round, winner.stderr.String())
		}
		if _, err := client.Do(context.Background(), control.Request{Op: control.OpStop, Force: true}); err != nil {
			t.Fatalf("round %d: stop: %v", round, err)
		}
		if code := winner.exitCode(10 * time.Second); code != exitStopped {
			t.Fatalf("round %d: the winning runner exited %d after stop: %s", round, code, winner.stderr.String())
		}
	}
}

// TestRunnerKilledMidRunIsReclaimed kills a disposable run's runner with
// SIGKILL: the VM reads stopped at once, its lock and socket are free for
// the next run, the throw-away disks go, and the base disk is untouched.
func TestRunnerKilledMidRunIsReclaimed(t *testing.T) {
	for _, tt := range []struct {
		name string
		// after runs between the kill and the next start.
		after func(t *testing.T, lib *vm.Library, b vm.Bundle)
	}{
		{"state read at once", func(t *testing.T, lib *vm.Library, b vm.Bundle) {
			info, err := lib.Inspect(context.Background(), "fake")
			if err != nil || info.State != vm.StateStopped {
				t.Errorf("right after the runner was killed the VM reads %v (%v), want stopped", info.State, err)
			}
			for _, p := range []string{b.ControlSocketPath(), b.PIDPath(), b.DisposableDir()} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("reading the state left the dead runner's %s", p)
				}
			}
		}},
		{"next start without a look first", func(*testing.T, *vm.Library, vm.Bundle) {}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lib, b, _ := setup(t, true)
			base := b.DiskPath("disk-0.img")
			if err := os.WriteFile(base, bytes.Repeat([]byte("base disk "), 400_000), 0o644); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(base)
			starts := filepath.Join(t.TempDir(), "starts")

			p := spawnRunner(t, lib, starts, false)
			waitRunning(t, b, p)
			leftover := filepath.Join(b.DisposableDir(), "left-by-the-killed-run")
			if err := os.WriteFile(leftover, []byte("x"), 0o600); err != nil {
				t.Fatalf("the disposable run has no throw-away dir: %v", err)
			}
			p.cmd.Process.Signal(syscall.SIGKILL)
			p.exitCode(10 * time.Second)

			if b.Locked() {
				t.Error("the VM's lock is still held after its runner was killed")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if _, err := control.NewClient(b.ControlSocketPath()).Status(ctx); !errors.Is(err, control.ErrNoRunner) {
				t.Errorf("the dead runner's socket still answers: %v", err)
			}
			tt.after(t, lib, b)

			next := spawnRunner(t, lib, starts, false)
			waitRunning(t, b, next)
			if _, err := os.Stat(leftover); err == nil {
				t.Error("the next start kept the killed run's throw-away files")
			}
			if _, err := control.NewClient(b.ControlSocketPath()).Do(context.Background(), control.Request{Op: control.OpStop}); err != nil {
				t.Fatal(err)
			}
			if code := next.exitCode(10 * time.Second); code != exitStopped {
				t.Fatalf("the next runner exited %d: %s", code, next.stderr.String())
			}
			if after, _ := os.ReadFile(base); !bytes.Equal(before, after) {
				t.Error("the base disk of a disposable VM changed across a killed run")
			}
			if _, err := os.Stat(b.DisposableDir()); err == nil {
				t.Error("throw-away disks left after the next run stopped")
			}
		})
	}
}

// probeRequest is what a probe process, run as another user, tries.
type probeRequest struct {
	Socket string `json:"socket"`
	RunDir string `json:"run_dir"`
}

// probeResult is what it got: "" for success, else the error.
type probeResult struct {
	Dial    string `json:"dial"`
	ReadDir string `json:"read_dir"`
}

func probe(req string) int {
	var r probeRequest
	if err := json.Unmarshal([]byte(req), &r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var res probeResult
	if c, err := net.DialTimeout("unix", r.Socket, 2*time.Second); err != nil {
		res.Dial = err.Error()
	} else {
		c.Close()
	}
	if _, err := os.ReadDir(r.RunDir); err != nil {
		res.ReadDir = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}
