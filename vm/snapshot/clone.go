package snapshot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vivarium-vm/vivarium/vm"
)

// CloneFrom makes a new VM, newName, from a snapshot of the VM called
// from: the snapshot's config, disks and stores (copy-on-write clones where
// the filesystem can), with a new MAC address so the two can run side by
// side. The memory state is not carried: the new VM boots afresh.
func CloneFrom(ctx context.Context, lib *vm.Library, from, snap, newName string) (*vm.Info, error) {
	b, err := lib.Bundle(from)
	if err != nil {
		return nil, err
	}
	info, err := Inspect(b, snap)
	if err != nil {
		return nil, err
	}
	if info.Broken() {
		return nil, fmt.Errorf("cannot clone snapshot %q of %s: %w: %s", snap, from, ErrBroken, info.Error)
	}
	c, err := vm.LoadConfig(filepath.Join(info.Dir, vm.ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("snapshot %q: %w: %w", snap, ErrBroken, err)
	}
	c.Name = newName
	if c.Network.Mode != vm.NetNone {
		c.Network.MAC = vm.RandomMAC()
	}
	return lib.Create(ctx, c, vm.CreateOptions{Prepare: func(ctx context.Context, tmp vm.Bundle, _ *vm.Config) error {
		for _, f := range info.Manifest.Files {
			switch f.Kind {
			case vm.PortableConfig, KindMemory, vm.PortableMachineID:
				continue // the config is c; a clone gets its own identity
			}
			dst := filepath.Join(tmp.Dir, f.Name)
			os.Remove(dst) // Create made empty disks for the config's
			if err := copyFile(ctx, filepath.Join(info.Dir, f.Name), dst); err != nil {
				return fmt.Errorf("cloning snapshot %q: %w", snap, err)
			}
		}
		return nil
	}})
}
