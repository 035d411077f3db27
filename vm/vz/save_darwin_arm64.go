//go:build darwin && arm64

package vz

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/hostcap"
)

// SaveState suspends the VM: it pauses it, saves its memory and devices to
// path (CaptureState) and stops it. The next start resumes from path.
func (i *instance) SaveState(ctx context.Context, path string) error {
	if i.spec.Disposable {
		return fmt.Errorf("%w: a disposable run cannot be suspended: its disks are thrown away when it stops; stop it instead", vm.ErrUnsupported)
	}
	if err := i.checkSaveRestore(); err != nil {
		return err
	}
	wasRunning := i.State() == vm.StateRunning
	if err := i.Pause(ctx); err != nil {
		return err
	}
	if err := i.CaptureState(ctx, path); err != nil {
		if wasRunning {
			if rerr := i.Resume(context.WithoutCancel(ctx)); rerr != nil {
				logf(i.spec.Log, "vz: the VM stays paused after the failed save: %v", rerr)
			}
		}
		return err
	}
	return i.ForceStop(ctx)
}

// CaptureState saves the paused VM's memory and devices to path (written to
// a temporary name, then renamed, so a failed save never looks like a saved
// state); the VM can run on afterwards (a live snapshot).
func (i *instance) CaptureState(ctx context.Context, path string) error {
	if err := i.checkSaveRestore(); err != nil {
		return err
	}
	tmp := vm.PartialPath(path)
	os.Remove(tmp)
	if err := call(ctx, "saving the VM's state", func() error { return i.machine.SaveMachineStateToPath(tmp) }); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := vm.CommitFile(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("saving the VM's state: %w", err)
	}
	return nil
}

// checkSaveRestore refuses, saying why, where this host or a device of the
// VM cannot save its state.
func (i *instance) checkSaveRestore() error {
	if err := hostcap.CheckFeatures(i.host, hostcap.SaveRestore); err != nil {
		return err
	}
	if _, err := i.built.config.ValidateSaveRestoreSupport(); err != nil {
		return fmt.Errorf("%w: this VM's state cannot be saved: %w; stop it instead", vm.ErrUnsupported, framework(err))
	}
	return nil
}

// restore resumes a VM from a state SaveState wrote, then removes the
// file: once the guest runs on, that state is stale and must never be
// resumed again.
func (i *instance) restore(ctx context.Context, path string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := i.built.config.ValidateSaveRestoreSupport(); err != nil {
		return fmt.Errorf("%w: this VM's devices cannot be restored from a saved state: %w", vm.ErrUnsupported, framework(err))
	}
	if err := i.machine.RestoreMachineStateFromURL(path); err != nil {
		return fmt.Errorf("resuming from %s: %w; if the VM's settings changed since it was suspended, change them back, or delete %s to start it fresh (what was open in the guest is lost)",
			filepath.Base(path), framework(err), filepath.Base(path))
	}
	if err := i.machine.Resume(); err != nil {
		return fmt.Errorf("resuming the VM: %w", framework(err))
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		logf(i.spec.Log, "vz: the VM resumed but its saved state %s could not be removed: %v", path, err)
	}
	return nil
}
