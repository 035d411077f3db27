package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vivarium-vm/vivarium/vm"
)

// Keep turns the disposable run spec (still running as inst) into a new VM
// called newName: its throw-away disks become the new VM's own (through
// keeper, which makes them standalone), its variable stores are copied, and
// the VM it ran from is never written. The VM is paused while its disks are
// copied, so they are consistent as at a power cut; it runs on afterwards.
func Keep(ctx context.Context, lib *vm.Library, spec *vm.RunSpec, newName string, inst Live, keeper vm.ThrowawayKeeper) (*vm.Info, error) {
	if !spec.Disposable {
		return nil, fmt.Errorf("keep as %q: %s is not running disposable: its changes are kept already; clone it instead", newName, spec.Config.Name)
	}
	if err := vm.ValidateName(newName); err != nil {
		return nil, err
	}
	c := *spec.Config
	c.Name = newName
	c.Disposable = false
	if c.Network.Mode != vm.NetNone {
		c.Network.MAC = vm.RandomMAC()
	}
	c.Disks = append([]vm.Disk(nil), spec.Config.Disks...)
	wasRunning := inst.State() == vm.StateRunning
	if wasRunning {
		if err := inst.Pause(ctx); err != nil {
			return nil, fmt.Errorf("keep as %q: %w", newName, err)
		}
	}
	info, err := lib.Create(ctx, &c, vm.CreateOptions{Prepare: func(ctx context.Context, tmp vm.Bundle, c *vm.Config) error {
		for i, d := range c.Disks {
			dst := tmp.DiskPath(d.File)
			if err := removeEmpty(dst); err != nil {
				return err
			}
			src := spec.Disks[i]
			var err error
			if d.ReadOnly { // never written: the VM's own file
				err = copyFile(ctx, src, dst)
			} else {
				err = keeper.KeepThrowaway(ctx, src, dst)
			}
			if err != nil {
				return fmt.Errorf("keeping %s: %w", d.File, err)
			}
		}
		for src, name := range map[string]string{spec.EFIVars: vm.EFIVarsFile, spec.AuxStorage: vm.AuxFile} {
			if src == "" {
				continue
			}
			if err := copyFile(ctx, src, filepath.Join(tmp.Dir, name)); err != nil && !errors.Is(err, errNotExist) {
				return fmt.Errorf("keeping %s: %w", name, err)
			}
		}
		if err := copyFile(ctx, spec.Bundle.HardwareModelPath(), tmp.HardwareModelPath()); err != nil && !errors.Is(err, errNotExist) {
			return fmt.Errorf("keeping %s: %w", vm.HardwareFile, err)
		}
		return nil
	}})
	if wasRunning {
		if rerr := inst.Resume(context.WithoutCancel(ctx)); rerr != nil {
			err = errors.Join(err, fmt.Errorf("the VM stays paused: %w", rerr))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("keep as %q: %w", newName, err)
	}
	return info, nil
}

var errNotExist = fs.ErrNotExist

// removeEmpty removes the empty disk Create made, for a copy to replace.
func removeEmpty(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
