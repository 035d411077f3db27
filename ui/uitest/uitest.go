// Package uitest has fakes of what the GUI talks to, for tests: a UI loop
// the test drains on its own goroutine, a controller that behaves like
// runners (it holds each running VM's real lock), a host that refuses
// chosen features, file pickers that answer at once, and a macOS installer.
package uitest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/vm"
)

// Loop stands in for fyne.Do: functions queue up until the test runs them
// on its own goroutine, where it also taps and types, so widgets are only
// ever touched from one goroutine.
type Loop struct {
	mu    sync.Mutex
	queue []func()
	wake  chan struct{}
}

// NewLoop returns an empty loop.
func NewLoop() *Loop { return &Loop{wake: make(chan struct{}, 1)} }

// Do queues f. It is safe from any goroutine.
func (l *Loop) Do(f func()) {
	l.mu.Lock()
	l.queue = append(l.queue, f)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Drain runs everything queued, including what that queues, and reports
// how many functions ran.
func (l *Loop) Drain() int {
	n := 0
	for {
		l.mu.Lock()
		q := l.queue
		l.queue = nil
		l.mu.Unlock()
		if len(q) == 0 {
			return n
		}
		for _, f := range q {
			f()
			n++
		}
	}
}

// WaitFor runs queued functions until cond holds, failing the test after
// five seconds with what it was waiting for.
func (l *Loop) WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		l.Drain()
		if cond() {
			return
		}
		select {
		case <-l.wake:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("waited 5s for %s", what)
		}
	}
}

// Controller runs no VM but acts like runners: Start takes the VM's lock in
// the library, so the library sees it running, and every change is
// reported to subscribers. Use it as the library's StatusAsker too, so a
// paused VM reads as paused.
type Controller struct {
	Library *vm.Library
	// IgnoreStopRequests makes guests ignore a polite stop, as a hung guest
	// does; only a forced stop ends them.
	IgnoreStopRequests bool
	// StartErr, when set, is what Start fails with.
	StartErr error

	mu     sync.Mutex
	locks  map[string]*vm.Lock
	states map[string]vm.State
	subs   []chan ui.StateChange
	calls  []string
}

var (
	_ ui.Controller  = (*Controller)(nil)
	_ vm.StatusAsker = (*Controller)(nil)
)

// NewController returns a controller for the VMs of lib, and makes itself
// lib's StatusAsker. Its locks are released when the test ends.
func NewController(t testing.TB, lib *vm.Library) *Controller {
	c := &Controller{Library: lib, locks: map[string]*vm.Lock{}, states: map[string]vm.State{}}
	lib.Ask = c
	t.Cleanup(c.release)
	return c
}

func (c *Controller) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.locks {
		l.Unlock()
	}
	c.locks = map[string]*vm.Lock{}
}

// Calls lists what was asked of the controller, like "start Demo".
func (c *Controller) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

// AskState answers for a VM this controller runs.
func (c *Controller) AskState(_ context.Context, b vm.Bundle) (vm.State, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.states[b.Name()]
	if !ok {
		return "", fmt.Errorf("%s: %w", b.Name(), vm.ErrNotRunning)
	}
	return s, nil
}

func (c *Controller) set(name string, s vm.State) {
	c.states[name] = s
	if !s.Active() {
		delete(c.states, name)
		if l := c.locks[name]; l != nil {
			l.Unlock()
			delete(c.locks, name)
		}
	}
	for _, ch := range c.subs {
		select {
		case ch <- ui.StateChange{Name: name, State: s}:
		default:
		}
	}
}

func (c *Controller) record(format string, args ...any) {
	c.calls = append(c.calls, fmt.Sprintf(format, args...))
}

// Start takes the VM's lock and reports it running.
func (c *Controller) Start(_ context.Context, name string, opts ui.StartOptions) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if opts.Disposable {
		c.record("start %s disposable", name)
	} else {
		c.record("start %s", name)
	}
	if c.StartErr != nil {
		return c.StartErr
	}
	b, err := c.Library.Bundle(name)
	if err != nil {
		return err
	}
	lock, err := b.TryLock()
	if err != nil {
		return err
	}
	c.locks[name] = lock
	c.set(name, vm.StateRunning)
	return nil
}

func (c *Controller) running(name string) error {
	if _, ok := c.states[name]; !ok {
		return fmt.Errorf("%s: %w", name, vm.ErrNotRunning)
	}
	return nil
}

// Stop stops the VM, unless the guest ignores a polite request.
func (c *Controller) Stop(_ context.Context, name string, force bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.record("stop %s force=%v", name, force)
	if err := c.running(name); err != nil {
		return err
	}
	if !force && c.IgnoreStopRequests {
		return nil
	}
	c.set(name, vm.StateStopped)
	return nil
}

// Pause pauses the VM.
func (c *Controller) Pause(_ context.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.record("pause %s", name)
	if err := c.running(name); err != nil {
		return err
	}
	c.set(name, vm.StatePaused)
	return nil
}

// Resume resumes the VM.
func (c *Controller) Resume(_ context.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.record("resume %s", name)
	if err := c.running(name); err != nil {
		return err
	}
	c.set(name, vm.StateRunning)
	return nil
}

// Suspend writes a saved state and stops the VM.
func (c *Controller) Suspend(_ context.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.record("suspend %s", name)
	if err := c.running(name); err != nil {
		return err
	}
	b, _ := c.Library.Bundle(name)
	if err := os.WriteFile(b.SavedStatePath(), []byte("saved"), 0o644); err != nil {
		return err
	}
	c.set(name, vm.StateStopped)
	return nil
}

// ShowWindow records the request; the VM must be running.
func (c *Controller) ShowWindow(_ context.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.record("show %s", name)
	return c.running(name)
}

// Subscribe reports every state change until ctx is done.
func (c *Controller) Subscribe(ctx context.Context) (<-chan ui.StateChange, error) {
	ch := make(chan ui.StateChange, 64)
	c.mu.Lock()
	c.subs = append(c.subs, ch)
	c.mu.Unlock()
	go func() {
		<-ctx.Done()
		c.mu.Lock()
		defer c.mu.Unlock()
		c.subs = slices.DeleteFunc(c.subs, func(s chan ui.StateChange) bool { return s == ch })
		close(ch)
	}()
	return ch, nil
}

// Host refuses the features in Refuse, with the sentence given.
type Host struct{ Refuse map[ui.Feature]string }

var _ ui.Host = Host{}

// Unavailable returns the sentence for feature, if refused.
func (h Host) Unavailable(_ *vm.Config, f ui.Feature) string { return h.Refuse[f] }

// Files answers pickers at once with Picks, in order, and records what was
// revealed.
type Files struct {
	mu       sync.Mutex
	Picks    []string
	revealed []string
}

var _ ui.Files = (*Files)(nil)

// Revealed lists the paths shown in the file manager.
func (f *Files) Revealed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.revealed)
}

// Reveal records path.
func (f *Files) Reveal(path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revealed = append(f.revealed, path)
	return nil
}

func (f *Files) next() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.Picks) == 0 {
		return ""
	}
	p := f.Picks[0]
	f.Picks = f.Picks[1:]
	return p
}

// PickFile answers with the next pick ("" when none is left: cancelled).
func (f *Files) PickFile(_ fyne.Window, _ string, _ []string, done func(string, error)) {
	done(f.next(), nil)
}

// PickFolder answers with the next pick.
func (f *Files) PickFolder(_ fyne.Window, _ string, done func(string, error)) {
	done(f.next(), nil)
}

// Installer pretends to install macOS: it reports progress, writes the
// auxiliary storage, and, when Block is set, waits until it is cancelled.
type Installer struct {
	Block   bool
	mu      sync.Mutex
	sources []string
}

var _ ui.MacOSInstaller = (*Installer)(nil)

// Sources lists the restore images it was asked to install from.
func (in *Installer) Sources() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.sources)
}

// InstallMacOS records source, reports progress, and writes aux.img.
func (in *Installer) InstallMacOS(ctx context.Context, tmp vm.Bundle, _ *vm.Config, source string, progress func(ui.Progress)) error {
	in.mu.Lock()
	in.sources = append(in.sources, source)
	in.mu.Unlock()
	progress(ui.Progress{Step: "Downloading macOS…", Done: 1, Total: 2})
	if in.Block {
		<-ctx.Done()
		return ctx.Err()
	}
	progress(ui.Progress{Step: "Installing macOS…", Done: 2, Total: 2})
	return os.WriteFile(tmp.AuxPath(), []byte("aux"), 0o644)
}
