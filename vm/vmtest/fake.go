// Package vmtest has fakes of the vm interfaces for tests of the layers
// above them (runner, GUI). Real VMs are tested against real QEMU.
package vmtest

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"sync"

	"github.com/vivarium-vm/vivarium/vm"
)

// Backend is a fake vm.Backend whose VMs change state on command.
type Backend struct {
	// CheckErr, when set, is returned by Check.
	CheckErr error
	// StartErr, when set, is returned by Start.
	StartErr error
	// Windows gives the VMs a window that can close and open again while
	// they run (as QEMU's SPICE viewer): Start returns a *WindowedInstance.
	Windows bool

	mu     sync.Mutex
	starts []*vm.RunSpec
	last   *Instance
}

var _ vm.Backend = (*Backend)(nil)

func (b *Backend) Name() string { return "fake" }

func (b *Backend) Check(c *vm.Config) error { return b.CheckErr }

func (b *Backend) Start(ctx context.Context, spec *vm.RunSpec) (vm.Instance, error) {
	if b.StartErr != nil {
		return nil, b.StartErr
	}
	// A guest writes its disks: prove which files a run would write.
	for _, d := range spec.Disks {
		f, err := os.OpenFile(d, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("fake start: %w", err)
		}
		f.WriteAt([]byte("written by the guest"), 0)
		f.Close()
	}
	inst := &Instance{feed: vm.NewStateFeed(vm.StateStarting), done: make(chan struct{})}
	inst.changes, _ = inst.feed.Subscribe()
	inst.feed.Set(vm.StateRunning)
	b.mu.Lock()
	b.starts = append(b.starts, spec)
	b.last = inst
	b.mu.Unlock()
	if b.Windows {
		inst.window = &WindowedInstance{Instance: inst, closeWin: make(chan struct{})}
		return inst.window, nil
	}
	return inst, nil
}

// Starts returns the specs of every start so far.
func (b *Backend) Starts() []*vm.RunSpec {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*vm.RunSpec(nil), b.starts...)
}

// Last is the most recently started instance.
func (b *Backend) Last() *Instance {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// Instance is a fake running VM. A polite stop powers it off at once.
type Instance struct {
	mu      sync.Mutex
	feed    *vm.StateFeed
	changes <-chan vm.State
	done    chan struct{}
	stopped bool
	window  *WindowedInstance // with Backend.Windows
}

// Window is the instance's window, with Backend.Windows.
func (i *Instance) Window() *WindowedInstance { return i.window }

// WindowedInstance is an Instance whose window a person can close and open
// again while the VM runs.
type WindowedInstance struct {
	*Instance
	closeWin chan struct{}
	opened   int
	open     bool
}

var _ vm.WindowReopener = (*WindowedInstance)(nil)

func (w *WindowedInstance) WindowReopens() bool { return true }

// RunWindow "shows" the window until CloseWindow, the VM stops or ctx ends.
func (w *WindowedInstance) RunWindow(ctx context.Context, title string) error {
	w.mu.Lock()
	w.opened++
	w.open = true
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.open = false
		w.mu.Unlock()
	}()
	select {
	case <-w.closeWin:
	case <-w.done:
	case <-ctx.Done(): // the runner closes it
	}
	return nil
}

// CloseWindow is a person closing the window.
func (w *WindowedInstance) CloseWindow() { w.closeWin <- struct{}{} }

// Opened says how often the window opened and whether it is open now.
func (w *WindowedInstance) Opened() (times int, open bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.opened, w.open
}

var (
	_ vm.Instance      = (*Instance)(nil)
	_ vm.Screenshotter = (*Instance)(nil)
)

func (i *Instance) State() vm.State { return i.feed.State() }

func (i *Instance) Changes() <-chan vm.State { return i.changes }

func (i *Instance) set(s vm.State) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.stopped {
		return vm.ErrNotRunning
	}
	i.feed.Set(s)
	if s == vm.StateStopped {
		i.stopped = true
		close(i.done)
	}
	return nil
}

func (i *Instance) Pause(context.Context) error {
	if i.State() != vm.StateRunning {
		return errors.New("not running")
	}
	return i.set(vm.StatePaused)
}

func (i *Instance) Resume(context.Context) error {
	if i.State() != vm.StatePaused {
		return errors.New("not paused")
	}
	return i.set(vm.StateRunning)
}

func (i *Instance) RequestStop(context.Context) error { return i.set(vm.StateStopped) }
func (i *Instance) ForceStop(context.Context) error   { return i.set(vm.StateStopped) }

// PowerOff is the guest shutting itself down.
func (i *Instance) PowerOff() { i.set(vm.StateStopped) }

func (i *Instance) Wait(ctx context.Context) error {
	select {
	case <-i.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Screenshot writes a small grey PNG.
func (i *Instance) Screenshot(_ context.Context, path string) error {
	img := image.NewRGBA(image.Rect(0, 0, 64, 40))
	for p := range img.Pix {
		img.Pix[p] = 0x80
	}
	img.Set(0, 0, color.White)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return png.Encode(f, img)
}
