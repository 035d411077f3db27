package runner

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/vmtest"
)

func TestAfterWindowClosed(t *testing.T) {
	tests := []struct {
		state vm.State
		want  closeAction
	}{
		{vm.StateRunning, closeShutDown},
		{vm.StateStarting, closeShutDown},
		{vm.StatePaused, closeResumeAndShutDown},
		{vm.StateStopping, closeNothing},
		{vm.StateStopped, closeNothing},
	}
	for _, tt := range tests {
		t.Run(string(tt.state), func(t *testing.T) {
			if got := afterWindowClosed(tt.state); got != tt.want {
				t.Errorf("afterWindowClosed(%s) = %d, want %d", tt.state, got, tt.want)
			}
		})
	}
}

// windowBackend starts fake VMs that have a window, like vz's: RunWindow
// holds the runner's main thread until the test closes the window or the
// VM stops.
type windowBackend struct {
	vmtest.Backend
	ignoreShutdown bool // the guest does not take the power button
	inst           chan *windowInstance
}

func (b *windowBackend) Start(ctx context.Context, spec *vm.RunSpec) (vm.Instance, error) {
	inst, err := b.Backend.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	w := &windowInstance{Instance: inst.(*vmtest.Instance), ignoreShutdown: b.ignoreShutdown, close: make(chan struct{})}
	b.inst <- w
	return w, nil
}

type windowInstance struct {
	*vmtest.Instance
	ignoreShutdown bool
	close          chan struct{} // the close button

	mu    sync.Mutex
	calls []string
}

var _ vm.Windowed = (*windowInstance)(nil)

func (w *windowInstance) RunWindow(ctx context.Context, title string) error {
	select {
	case <-w.close:
	case <-ctx.Done():
	case <-w.stopped():
	}
	return nil
}

func (w *windowInstance) stopped() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		w.Instance.Wait(context.Background())
		close(ch)
	}()
	return ch
}

func (w *windowInstance) record(call string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, call)
}

func (w *windowInstance) Calls() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls)
}

func (w *windowInstance) Resume(ctx context.Context) error {
	w.record("resume")
	return w.Instance.Resume(ctx)
}

func (w *windowInstance) RequestStop(ctx context.Context) error {
	w.record("request stop")
	if w.State() == vm.StatePaused {
		return errors.New("the VM cannot take a shutdown request now")
	}
	if w.ignoreShutdown {
		return nil
	}
	return w.Instance.RequestStop(ctx)
}

func (w *windowInstance) ForceStop(ctx context.Context) error {
	w.record("force stop")
	return w.Instance.ForceStop(ctx)
}

// Closing the VM's window stops the VM, as vz's examples do: the guest is
// asked to shut down, forced off when it does not within StopTimeout, and
// a paused guest is resumed first so it can shut down cleanly. The runner
// then exits: no VM is left running without its window.
func TestClosingTheWindowStopsTheVM(t *testing.T) {
	const stopTimeout = 300 * time.Millisecond
	tests := []struct {
		name           string
		ignoreShutdown bool
		before         func(*windowInstance)
		close          func(*windowInstance)
		want           []string
		minTime        time.Duration
	}{
		{name: "guest shuts down", close: closeWindow,
			want: []string{"request stop"}},
		{name: "guest ignores the power button", ignoreShutdown: true, close: closeWindow,
			want: []string{"request stop", "force stop"}, minTime: stopTimeout},
		{name: "paused guest", before: func(w *windowInstance) { w.Pause(context.Background()) }, close: closeWindow,
			want: []string{"resume", "request stop"}},
		{name: "guest powered itself off, which closed the window", close: func(w *windowInstance) { w.PowerOff() },
			want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib, _, _ := setup(t, false)
			be := &windowBackend{ignoreShutdown: tt.ignoreShutdown, inst: make(chan *windowInstance, 1)}
			done := make(chan error, 1)
			go func() {
				done <- Run(context.Background(), lib, "fake", func(string) (vm.Backend, error) { return be, nil }, Options{StopTimeout: stopTimeout})
			}()
			var w *windowInstance
			select {
			case w = <-be.inst:
			case err := <-done:
				t.Fatalf("runner exited: %v", err)
			}
			if tt.before != nil {
				tt.before(w)
			}
			closed := time.Now()
			tt.close(w)
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("runner: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("the runner still runs 10s after its window closed; calls %q", w.Calls())
			}
			if took := time.Since(closed); took < tt.minTime {
				t.Errorf("forced after %s, before the guest had StopTimeout (%s) to shut down", took, tt.minTime)
			}
			if got := w.Calls(); !slices.Equal(got, tt.want) {
				t.Errorf("calls = %q, want %q", got, tt.want)
			}
			if s := w.State(); s != vm.StateStopped {
				t.Errorf("VM is %s after its window closed, want stopped", s)
			}
			info, err := lib.Inspect(context.Background(), "fake")
			if err != nil || info.State != vm.StateStopped {
				t.Errorf("library says %v (%v), want stopped", info.State, err)
			}
		})
	}
}

func closeWindow(w *windowInstance) { close(w.close) }
