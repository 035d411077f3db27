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
	"sync"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/control"
	"github.com/vivarium-vm/vivarium/vm/snapshot"
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
// guest to shut down, and forces it off after opts.StopTimeout. When the
// run fails (it cannot start, or the VM dies), the reason is also saved as
// the VM's last error (run/last-error.json: what, why, what to do), which
// `vivarium start`, `status` and the window show; a run that begins
// clears it.
func Run(ctx context.Context, lib *vm.Library, name string, backends Backends, opts Options) error {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	var p progress
	err := runVM(ctx, lib, name, backends, opts, &p)
	if err != nil && p.locked {
		if b, berr := lib.Bundle(name); berr == nil {
			what := "starting " + name
			if p.running {
				what = name + " stopped unexpectedly"
			}
			if serr := b.SaveLastError(vm.ProblemOf(what, err)); serr != nil {
				fmt.Fprintf(opts.Log, "saving the last error: %v\n", serr)
			}
		}
	}
	return err
}

// progress is how far a run got.
type progress struct {
	locked  bool // it holds the VM's lock: its failures are the VM's to report
	running bool // the backend started the VM
}

// runVM is Run, saying in p how far it got.
func runVM(ctx context.Context, lib *vm.Library, name string, backends Backends, opts Options, p *progress) error {
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
	p.locked = true
	if err := b.ClearLastError(); err != nil {
		return err
	}
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
	// A restore a crash interrupted is finished before the VM uses its files.
	if err := snapshot.Recover(b); err != nil {
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
		return err
	}
	p.running = true
	r := newRun(b, inst, opts)
	r.lib, r.spec, r.keeper = lib, spec, keeperFor(backend)
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

// KeepThrowaway copies a clone: it is a standalone file already.
func (cloneMaker) KeepThrowaway(ctx context.Context, throwaway, dst string) error {
	_, err := vm.CopyDisk(ctx, throwaway, dst, nil)
	return err
}

func keeperFor(backend vm.Backend) vm.ThrowawayKeeper {
	if k, ok := backend.(vm.ThrowawayKeeper); ok {
		return k
	}
	return cloneMaker{}
}

// run is one running VM as the control socket sees it.
type run struct {
	b    vm.Bundle
	inst vm.Instance
	opts Options
	done chan struct{}
	feed *vm.StateFeed // what subscribers of the control socket follow
	show chan struct{} // a request to open the window again

	// For snapshots and keeping a disposable run (vm/snapshot); one at a time.
	lib    *vm.Library
	spec   *vm.RunSpec
	keeper vm.ThrowawayKeeper
	snapMu sync.Mutex

	mu         sync.Mutex
	stopping   bool
	windowOpen bool
	// closeWindow closes the open window (its program); nil while none is.
	closeWindow context.CancelFunc
	// showAt is when a show request came while the window was open (or
	// closing): it opens the window again if it closes within showGrace.
	showAt time.Time
}

// showGrace: a show request that comes while the window is still closing
// (its program exiting) opens it again; one older than this, made while the
// window was open, is already answered.
const showGrace = 5 * time.Second

func newRun(b vm.Bundle, inst vm.Instance, opts Options) *run {
	return &run{b: b, inst: inst, opts: opts, done: make(chan struct{}), show: make(chan struct{}, 1), feed: vm.NewStateFeed(inst.State())}
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
			wctx, closeWindow := context.WithCancel(ctx)
			r.windowOpened(closeWindow)
			err := w.RunWindow(wctx, title)
			closeWindow()
			again := r.windowClosed()
			if err != nil {
				fmt.Fprintf(r.opts.Log, "window: %v\n", err)
			}
			if reopens && r.State() != vm.StateStopped {
				if again {
					continue
				}
				fmt.Fprintf(r.opts.Log, "the window closed; the VM keeps running ('vivarium window %s' opens it again)\n", r.b.Name())
			}
		}
		if !reopens {
			if show {
				// A window of the VM's own (vz's): closing it stops the VM.
				r.stopAfterWindowClosed(ctx)
			}
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

func (r *run) windowOpened(closeWindow context.CancelFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.windowOpen, r.closeWindow = true, closeWindow
}

// windowClosed records that the window closed, and reports whether a show
// request came while it was closing.
func (r *run) windowClosed() (showAgain bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.windowOpen, r.closeWindow = false, nil
	showAgain = !r.showAt.IsZero() && time.Since(r.showAt) < showGrace
	r.showAt = time.Time{}
	return showAgain
}

// ShowWindow opens the VM's window again after a person closed it. A
// window that is open (perhaps behind others, or on another desktop) is
// opened anew, which brings it to the front: a viewer program has no way
// to be raised from outside that works under every window manager.
func (r *run) ShowWindow(ctx context.Context) error {
	if reopener, ok := r.inst.(vm.WindowReopener); !ok || !reopener.WindowReopens() {
		return fmt.Errorf("show: %w: this VM's window cannot be opened again while it runs; it shows when the VM starts without --headless", vm.ErrUnsupported)
	}
	if r.State() == vm.StateStopped {
		return fmt.Errorf("show: %w", vm.ErrNotRunning)
	}
	r.mu.Lock()
	open := r.windowOpen
	if open {
		// Open, or closing (its program may still be exiting): it opens
		// again once closed.
		r.showAt = time.Now()
		if r.closeWindow != nil {
			r.closeWindow()
		}
	}
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
	r.feed.Set(vm.StateStopped)
}

func (r *run) set(s vm.State) {
	r.feed.Set(r.shown(s))
}

// shown is the state as clients see it: a VM asked to shut down reads as
// stopping until it has.
func (r *run) shown(s vm.State) vm.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping && s == vm.StateRunning {
		return vm.StateStopping
	}
	return s
}

// State is the instance's own state (so an answer to pause already says
// paused), except that a VM asked to shut down reads as stopping.
func (r *run) State() vm.State {
	if r.feed.Ended() {
		return vm.StateStopped
	}
	return r.shown(r.inst.State())
}

func (r *run) Subscribe() (<-chan vm.State, func()) { return r.feed.Subscribe() }

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

// Snapshot takes a live snapshot: pause, memory state, disk copies, resume.
func (r *run) Snapshot(ctx context.Context, name string) error {
	if r.spec.Disposable {
		return fmt.Errorf("snapshot: %w: this run is disposable and its disks are thrown away; keep it as a new VM first ('vivarium stop --keep-as NEWNAME')", vm.ErrUnsupported)
	}
	r.snapMu.Lock()
	defer r.snapMu.Unlock()
	res, err := snapshot.TakeLive(ctx, r.b, r.spec.Config, name, r.inst, snapshot.Options{})
	if err != nil {
		return err
	}
	fmt.Fprintf(r.opts.Log, "%s snapshot %q taken: the VM was paused %s (memory state %s)\n", time.Now().Format(time.RFC3339), name, res.Paused.Round(time.Millisecond), res.MemoryTime.Round(time.Millisecond))
	return nil
}

// Keep makes a new VM of this disposable run's disks as they are now.
func (r *run) Keep(ctx context.Context, name string) error {
	r.snapMu.Lock()
	defer r.snapMu.Unlock()
	_, err := snapshot.Keep(ctx, r.lib, r.spec, name, r.inst, r.keeper)
	return err
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
	if err := vm.CommitFile(tmp, r.b.ThumbnailPath()); err != nil {
		fmt.Fprintf(r.opts.Log, "thumbnail: %v\n", err)
		os.Remove(tmp)
	}
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
	r.shutDown("asked to stop")
}
