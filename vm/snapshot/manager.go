package snapshot

import (
	"context"
	"fmt"

	"github.com/vivarium-vm/vivarium/vm"
)

// Runner reaches the runner of a running VM, which alone may take its live
// snapshots and keep its disposable run (app wires it to the control
// socket).
type Runner interface {
	Snapshot(ctx context.Context, b vm.Bundle, name string) error
	Keep(ctx context.Context, b vm.Bundle, newName string) error
}

// Manager is the snapshots of a library's VMs by VM name, for the CLI and
// the window: a stopped VM is snapshotted here, a running one through its
// runner.
type Manager struct {
	Library *vm.Library
	// Runner reaches running VMs; nil refuses live snapshots and keeping.
	Runner Runner
}

func (m *Manager) bundle(ctx context.Context, vmName string) (vm.Bundle, error) {
	info, err := m.Library.Inspect(ctx, vmName)
	if err != nil {
		return vm.Bundle{}, err
	}
	return info.Bundle(), nil
}

// List returns the VM's snapshots, oldest first, damaged ones with why.
func (m *Manager) List(ctx context.Context, vmName string) ([]*Info, error) {
	b, err := m.bundle(ctx, vmName)
	if err != nil {
		return nil, err
	}
	return List(b)
}

// Take snapshots the VM: as it is when it is stopped (with its memory when
// suspended); when it runs, live if allowLive, else it refuses saying so.
func (m *Manager) Take(ctx context.Context, vmName, name string, allowLive bool) (*Info, error) {
	b, err := m.bundle(ctx, vmName)
	if err != nil {
		return nil, err
	}
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if b.Locked() {
		switch {
		case !allowLive:
			return nil, fmt.Errorf("%s is running: %w; take a live snapshot (--live, it keeps the memory too), or stop it first", vmName, vm.ErrRunning)
		case m.Runner == nil:
			return nil, fmt.Errorf("%s is running: live snapshots: %w here; stop it first", vmName, vm.ErrUnsupported)
		}
		if err := m.Runner.Snapshot(ctx, b, name); err != nil {
			return nil, fmt.Errorf("%s: %w", vmName, err)
		}
		return Inspect(b, name)
	}
	res, err := Take(ctx, b, name, Options{})
	if err != nil {
		return nil, err
	}
	return res.Info, nil
}

// Restore turns the stopped VM back into the snapshot (see Restore).
func (m *Manager) Restore(ctx context.Context, vmName, name string) (*Info, error) {
	b, err := m.bundle(ctx, vmName)
	if err != nil {
		return nil, err
	}
	return Restore(ctx, b, name)
}

// Delete removes the snapshot.
func (m *Manager) Delete(ctx context.Context, vmName, name string) error {
	b, err := m.bundle(ctx, vmName)
	if err != nil {
		return err
	}
	return Delete(b, name)
}

// Keep makes the VM's running disposable session a new VM called newName.
func (m *Manager) Keep(ctx context.Context, vmName, newName string) error {
	b, err := m.bundle(ctx, vmName)
	if err != nil {
		return err
	}
	if err := vm.ValidateName(newName); err != nil {
		return err
	}
	if !b.Locked() {
		return fmt.Errorf("%s: %w; keeping works on a disposable run, while it runs", vmName, vm.ErrNotRunning)
	}
	if m.Runner == nil {
		return fmt.Errorf("keeping a disposable run: %w here", vm.ErrUnsupported)
	}
	if err := m.Runner.Keep(ctx, b, newName); err != nil {
		return fmt.Errorf("%s: %w", vmName, err)
	}
	return nil
}
