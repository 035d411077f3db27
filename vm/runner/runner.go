// Package runner is the per-VM runner process: it holds the VM's lock,
// prepares the run (disposable disks, runtime dir), starts the VM through a
// backend, serves the control socket and cleans up when the VM stops.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/control"
)

// Options change one run; they are not saved in the config.
type Options struct {
	Disposable bool // run without keeping changes, even if the config does not ask
	Headless   bool // no window: serial console only
	Recovery   bool // boot a macOS guest into recoveryOS
	// StopTimeout is how long a polite stop (on SIGTERM) may take before
	// the VM is forced off.
	StopTimeout time.Duration
	// ThumbnailEvery is how often the runner saves the guest's screen as
	// the library thumbnail (0: only when stopping).
	ThumbnailEvery time.Duration
	// Log receives the runner's own messages (run/runner.log).
	Log io.Writer
}

// Backends chooses a backend by the config's backend name.
type Backends func(name string) (vm.Backend, error)

// Run runs the VM called name until it stops. Cancelling ctx asks the
// guest to shut down, and forces it off after opts.StopTimeout.
func Run(ctx context.Context, lib *vm.Library, name string, backends Backends, opts Options) error {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 60 * time.Second
	}
	b, err := lib.Bundle(name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(b.ConfigPath()); err != nil {
		return fmt.Errorf("%q: %w; see the VMs with 'vivarium list'", name, vm.ErrNotFound)
	}
	lock, err := b.TryLock()
	if errors.Is(err, vm.ErrLocked) {
		return fmt.Errorf("%s is already running: %w", name, vm.ErrRunning)
	}
	if err != nil {
		return err
	}
	defer lock.Unlock()
	// Whatever a crashed run left is ours to remove now that we hold the lock.
	if err := b.CleanStale(); err != nil {
		return fmt.Errorf("cleaning up after the last run: %w", err)
	}
	if err := os.WriteFile(b.PIDPath(), []byte(fmt.Sprintln(os.Getpid())), 0o600); err != nil {
		return err
	}
	defer b.CleanStale()

	c, err := vm.LoadConfig(b.ConfigPath())
	if err != nil {
		return err
	}
	c.Name = b.Name()
	backend, err := backends(c.Backend)
	if err != nil {
		return err
	}
	if err := backend.Check(c); err != nil {
		return err
	}
	if err := c.CheckPaths(); err != nil {
		return err
	}
	spec, err := Prepare(ctx, b, c, backend, opts)
	if err != nil {
		return err
	}
	console, err := os.OpenFile(b.ConsoleLogPath(), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer console.Close()
	spec.Console, spec.Log = console, opts.Log

	fmt.Fprintf(opts.Log, "%s starting %s (%s backend, disposable=%v, headless=%v)\n", time.Now().Format(time.RFC3339), name, c.Backend, spec.Disposable, spec.Headless)
	inst, err := backend.Start(ctx, spec)
	if err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	r := newRun(b, inst, opts)
	ln, err := control.Listen(b.ControlSocketPath())
	if err != nil {
		inst.ForceStop(context.Background())
		return err
	}
	serveCtx, stopServing := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		control.Serve(serveCtx, ln, r)
		close(served)
	}()
	go r.watch()
	go r.stopOn(ctx)
	if opts.ThumbnailEvery > 0 {
		go r.thumbnails(serveCtx, opts.ThumbnailEvery)
	}
	if w, ok := inst.(vm.Windowed); ok {
		// The window owns the main thread until it closes.
		r.windows(ctx, w, name, !spec.Headless)
	}
	waitErr := inst.Wait(context.Background())
	<-r.done
	stopServing()
	<-served
	fmt.Fprintf(opts.Log, "%s %s stopped\n", time.Now().Format(time.RFC3339), name)
	return waitErr
}

// Prepare decides the files this run uses. For a disposable run every disk
// and the EFI/auxiliary store are replaced by throw-away copies in
// run/disposable: overlays or copy-on-write clones made by the backend,
// so the VM's own files are never opened writable.
func Prepare(ctx context.Context, b vm.Bundle, c *vm.Config, backend vm.Backend, opts Options) (*vm.RunSpec, error) {
	spec := &vm.RunSpec{
		Bundle: b, Config: c,
		Disposable: c.Disposable || opts.Disposable,
		Headless:   opts.Headless,
		Recovery:   opts.Recovery,
	}
	if _, err := os.Stat(b.SavedStatePath()); err == nil && !spec.Disposable {
		spec.Restore = b.SavedStatePath()
	}
	if c.Boot.Mode == vm.BootEFI {
		spec.EFIVars = b.EFIVarsPath()
	}
	if c.OS == vm.OSMacOS {
		spec.AuxStorage = b.AuxPath()
	}
	if _, err := os.Stat(b.SeedPath()); err == nil {
		spec.Seed = b.SeedPath() // read-only: a disposable run needs no copy
	}
	for _, d := range c.Disks {
		spec.Disks = append(spec.Disks, b.DiskPath(d.File))
	}
	if !spec.Disposable {
		return spec, nil
	}
	dir := b.DisposableDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	maker, ok := backend.(vm.ThrowawayMaker)
	if !ok {
		maker = cloneMaker{}
	}
	for i, d := range c.Disks {
		if d.ReadOnly {
			continue // never written anyway
		}
		p, err := maker.MakeThrowaway(ctx, spec.Disks[i], filepath.Join(dir, d.File))
		if err != nil {
			return nil, fmt.Errorf("disposable copy of %s: %w", d.File, err)
		}
		spec.Disks[i] = p
	}
	// Variable stores are small: a copy-on-write clone, or a plain copy.
	for _, p := range []*string{&spec.EFIVars, &spec.AuxStorage} {
		if *p == "" {
			continue
		}
		if _, err := os.Stat(*p); err != nil {
			// Not made yet: this run makes a fresh one in the throw-away dir.
			*p = filepath.Join(dir, filepath.Base(*p))
			continue
		}
		dst := filepath.Join(dir, filepath.Base(*p))
		if _, err := vm.CopyDisk(ctx, *p, dst, nil); err != nil {
			return nil, fmt.Errorf("disposable copy of %s: %w", filepath.Base(*p), err)
		}
		*p = dst
	}
	return spec, nil
}

// cloneMaker makes throw-away disks as copy-on-write clones (or sparse
// copies where the filesystem cannot clone).
type cloneMaker struct{}

func (cloneMaker) MakeThrowaway(ctx context.Context, base, dst string) (string, error) {
	_, err := vm.CopyDisk(ctx, base, dst, nil)
	return dst, err
}

// run is one running VM as the control socket sees it.
type run struct {
	b    vm.Bundle
	inst vm.Instance
	opts Options
	done chan struct{}
	show chan struct{} // a request to open the window again

	mu         sync.Mutex
	state      vm.State
	subs       map[chan vm.State]struct{}
	stopping   bool
	windowOpen bool
}

func newRun(b vm.Bundle, inst vm.Instance, opts Options) *run {
	return &run{b: b, inst: inst, opts: opts, done: make(chan struct{}), show: make(chan struct{}, 1),
		state: inst.State(), subs: map[chan vm.State]struct{}{}}
}

// windows shows the VM's window, at once unless the run is headless, and,
// when the window is a program of its own, again on each show request
// while the VM runs. It returns when the VM stops (or, for a window that
// cannot reopen, when it closes).
func (r *run) windows(ctx context.Context, w vm.Windowed, title string, show bool) {
	reopener, ok := w.(vm.WindowReopener)
	reopens := ok && reopener.WindowReopens()
	for {
		if show {
			r.setWindowOpen(true)
			err := w.RunWindow(ctx, title)
			r.setWindowOpen(false)
			if err != nil {
				fmt.Fprintf(r.opts.Log, "window: %v\n", err)
			}
			if reopens && r.State() != vm.StateStopped {
				fmt.Fprintf(r.opts.Log, "the window closed; the VM keeps running ('vivarium window %s' opens it again)\n", r.b.Name())
			}
		}
		if !reopens {
			return
		}
		select {
		case <-r.done:
			return
		case <-r.show:
			show = true
		}
	}
}

func (r *run) setWindowOpen(open bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.windowOpen = open
}

// ShowWindow opens the VM's window again after a person closed it; a
// window that is open stays as it is.
func (r *run) ShowWindow(ctx context.Context) error {
	if reopener, ok := r.inst.(vm.WindowReopener); !ok || !reopener.WindowReopens() {
		return fmt.Errorf("show: %w: this VM's window cannot be opened again while it runs; it shows when the VM starts without --headless", vm.ErrUnsupported)
	}
	if r.State() == vm.StateStopped {
		return fmt.Errorf("show: %w", vm.ErrNotRunning)
	}
	r.mu.Lock()
	open := r.windowOpen
	r.mu.Unlock()
	if !open {
		select {
		case r.show <- struct{}{}:
		default: // already asked
		}
	}
	return nil
}

// watch relays the backend's state changes to subscribers.
func (r *run) watch() {
	defer close(r.done)
	for s := range r.inst.Changes() {
		r.set(s)
	}
	r.set(vm.StateStopped)
	r.mu.Lock()
	for ch := range r.subs {
		close(ch)
	}
	r.subs = nil
	r.mu.Unlock()
}

func (r *run) set(s vm.State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping && s == vm.StateRunning {
		s = vm.StateStopping
	}
	if s == r.state {
		return
	}
	r.state = s
	for ch := range r.subs {
		select {
		case ch <- s:
		default: // a slow subscriber misses intermediate states, never blocks the VM
		}
	}
}

// State is the instance's own state (so an answer to pause already says
// paused), except that a VM asked to shut down reads as stopping.
func (r *run) State() vm.State {
	s := r.inst.State()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.subs == nil {
		return vm.StateStopped
	}
	if r.stopping && s == vm.StateRunning {
		return vm.StateStopping
	}
	return s
}

func (r *run) Subscribe() (<-chan vm.State, func()) {
	ch := make(chan vm.State, 16)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.subs == nil {
		close(ch)
		return ch, func() {}
	}
	r.subs[ch] = struct{}{}
	return ch, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if _, ok := r.subs[ch]; ok {
			delete(r.subs, ch)
			close(ch)
		}
	}
}

func (r *run) Pause(ctx context.Context) error  { return r.inst.Pause(ctx) }
func (r *run) Resume(ctx context.Context) error { return r.inst.Resume(ctx) }

func (r *run) Stop(ctx context.Context, force bool) error {
	r.saveThumbnail(ctx)
	if force {
		return r.inst.ForceStop(ctx)
	}
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
	r.set(vm.StateStopping)
	return r.inst.RequestStop(ctx)
}

func (r *run) Suspend(ctx context.Context) error {
	saver, ok := r.inst.(vm.StateSaver)
	if !ok {
		return fmt.Errorf("suspend: %w: this backend cannot save a VM's state; stop it instead", vm.ErrUnsupported)
	}
	r.saveThumbnail(ctx)
	return saver.SaveState(ctx, r.b.SavedStatePath())
}

func (r *run) Screenshot(ctx context.Context, path string) error {
	s, ok := r.inst.(vm.Screenshotter)
	if !ok {
		return fmt.Errorf("screenshot: %w", vm.ErrUnsupported)
	}
	return s.Screenshot(ctx, path)
}

// saveThumbnail keeps the guest's last screen for the library.
func (r *run) saveThumbnail(ctx context.Context) {
	s, ok := r.inst.(vm.Screenshotter)
	if !ok || r.State() == vm.StateStopped {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tmp := r.b.ThumbnailPath() + ".tmp.png"
	if err := s.Screenshot(ctx, tmp); err != nil {
		fmt.Fprintf(r.opts.Log, "thumbnail: %v\n", err)
		os.Remove(tmp)
		return
	}
	os.Rename(tmp, r.b.ThumbnailPath())
}

func (r *run) thumbnails(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.done:
			return
		case <-t.C:
			if r.State() == vm.StateRunning {
				r.saveThumbnail(ctx)
			}
		}
	}
}

// stopOn asks the guest to shut down when ctx ends (SIGTERM to the runner)
// and forces it off if it has not stopped after StopTimeout.
func (r *run) stopOn(ctx context.Context) {
	select {
	case <-r.done:
		return
	case <-ctx.Done():
	}
	fmt.Fprintf(r.opts.Log, "asked to stop: shutting the guest down (forcing it after %s)\n", r.opts.StopTimeout)
	bg := context.Background()
	if err := r.Stop(bg, false); err != nil && !strings.Contains(err.Error(), "not running") {
		fmt.Fprintf(r.opts.Log, "polite stop: %v\n", err)
	}
	select {
	case <-r.done:
	case <-time.After(r.opts.StopTimeout):
		r.inst.ForceStop(bg)
	}
}
