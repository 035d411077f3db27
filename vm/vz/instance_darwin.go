//go:build darwin

package vz

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/Code-Hex/vz/v3"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/hostcap"
)

// instance is a running vz VM. Its state follows the framework's state
// notifications.
type instance struct {
	machine *vz.VirtualMachine
	built   *machine
	plan    *MachinePlan
	spec    *vm.RunSpec
	host    hostcap.Host

	feed    *vm.StateFeed
	changes <-chan vm.State // the runner's subscription to feed
	done    chan struct{}   // closed once the VM stopped

	mu  sync.Mutex
	err error // why the VM died, if it did
}

var (
	_ vm.Instance      = (*instance)(nil)
	_ vm.StateSaver    = (*instance)(nil)
	_ vm.StateCapturer = (*instance)(nil)
	_ vm.Windowed      = (*instance)(nil)
)

func newInstance(machine *vz.VirtualMachine, built *machine, plan *MachinePlan, spec *vm.RunSpec, host hostcap.Host) *instance {
	i := &instance{
		machine: machine,
		built:   built,
		plan:    plan,
		spec:    spec,
		host:    host,
		feed:    vm.NewStateFeed(vm.StateStarting),
		done:    make(chan struct{}),
	}
	i.changes, _ = i.feed.Subscribe()
	go i.watch(machine.StateChangedNotify())
	return i
}

// watch follows the framework's state changes until the VM stopped.
func (i *instance) watch(notify <-chan vz.VirtualMachineState) {
	for s := range notify {
		if i.observe(s) {
			// The framework's channel never closes.
			i.built.close()
			close(i.done)
			return
		}
	}
}

// observe records a framework state and reports whether the VM stopped.
// Intermediate states the app has no word for (pausing, resuming, saving)
// leave the state as it was.
func (i *instance) observe(s vz.VirtualMachineState) (stopped bool) {
	next := i.feed.State()
	switch s {
	case vz.VirtualMachineStateStarting, vz.VirtualMachineStateRestoring:
		next = vm.StateStarting
	case vz.VirtualMachineStateRunning:
		next = vm.StateRunning
	case vz.VirtualMachineStatePaused:
		next = vm.StatePaused
	case vz.VirtualMachineStateStopping:
		next = vm.StateStopping
	case vz.VirtualMachineStateStopped:
		next, stopped = vm.StateStopped, true
	case vz.VirtualMachineStateError:
		next, stopped = vm.StateStopped, true
		i.mu.Lock()
		i.err = errors.New("the VM stopped after an internal error in Apple Virtualization; runner.log has the details")
		i.mu.Unlock()
	}
	i.feed.Set(next)
	return stopped
}

// boot starts the VM and waits until it runs.
func (i *instance) boot(ctx context.Context, opts []vz.VirtualMachineStartOption) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := i.machine.Start(opts...); err != nil {
		return fmt.Errorf("starting the VM: %w", framework(err))
	}
	return nil
}

// abandon releases a VM that never started.
func (i *instance) abandon() {
	if i.machine.CanStop() {
		i.machine.Stop()
	}
	i.built.close()
}

func (i *instance) State() vm.State { return i.feed.State() }

func (i *instance) Changes() <-chan vm.State { return i.changes }

func (i *instance) Pause(ctx context.Context) error {
	if i.State() == vm.StatePaused {
		return nil
	}
	return call(ctx, "pausing the VM", i.machine.Pause)
}

func (i *instance) Resume(ctx context.Context) error {
	if i.State() == vm.StateRunning {
		return nil
	}
	return call(ctx, "resuming the VM", i.machine.Resume)
}

// RequestStop presses the guest's power button.
func (i *instance) RequestStop(ctx context.Context) error {
	return call(ctx, "asking the guest to shut down", func() error {
		if !i.machine.CanRequestStop() {
			return errors.New("the VM cannot take a shutdown request now; force stop it instead")
		}
		ok, err := i.machine.RequestStop()
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("the guest did not take the shutdown request; force stop it instead")
		}
		return nil
	})
}

// ForceStop ends the VM at once.
func (i *instance) ForceStop(ctx context.Context) error {
	select {
	case <-i.done:
		return nil
	default:
	}
	return call(ctx, "stopping the VM", i.machine.Stop)
}

// Wait blocks until the VM stopped.
func (i *instance) Wait(ctx context.Context) error {
	select {
	case <-i.done:
		i.mu.Lock()
		defer i.mu.Unlock()
		return i.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// call runs a blocking framework call, giving up waiting (not the call)
// when ctx ends.
func call(ctx context.Context, what string, fn func() error) error {
	result := make(chan error, 1)
	go func() { result <- fn() }()
	select {
	case err := <-result:
		if err != nil {
			return fmt.Errorf("%s: %w", what, framework(err))
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
}
