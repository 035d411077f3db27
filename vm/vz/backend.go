package vz

import (
	"context"
	"errors"
	"fmt"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/hostcap"
)

// ErrRosettaNotInstalled means Rosetta for Linux is supported on this Mac
// but not installed: offer InstallRosetta, then start again.
var ErrRosettaNotInstalled = errors.New("this Mac does not have Rosetta for Linux installed")

// Backend runs VMs with Apple Virtualization on the host it describes.
type Backend struct {
	host   hostcap.Host
	limits Limits
}

// New returns the vz backend for host (hostcap.Current() in the app), with
// this Mac's CPU and memory limits.
func New(host hostcap.Host) *Backend { return &Backend{host: host, limits: hostLimits()} }

var (
	_ vm.Backend        = (*Backend)(nil)
	_ vm.ThrowawayMaker = (*Backend)(nil)
)

// Name is "vz".
func (b *Backend) Name() string { return vm.BackendVZ }

// Check refuses a config this host cannot run, before anything is
// touched: hostcap's sentences for what this Mac lacks, then Apple's
// limits (the guest's architecture, CPUs, memory).
func (b *Backend) Check(c *vm.Config) error {
	if c.Backend != vm.BackendVZ {
		return fmt.Errorf("%s: backend is %q; the vz backend runs only VMs with backend = \"vz\"", c.Name, c.Backend)
	}
	if err := hostcap.Check(b.host, c); err != nil {
		return err
	}
	return checkLimits(c, b.host, b.limits)
}

// MakeThrowaway copies base to dst for a disposable run: a clonefile(2)
// clone on APFS, so it is instant and takes no space, else a sparse copy.
// base is only ever opened read-only.
func (b *Backend) MakeThrowaway(ctx context.Context, base, dst string) (string, error) {
	if _, err := vm.CopyDisk(ctx, base, dst, nil); err != nil {
		return "", fmt.Errorf("making the throw-away copy of %s: %w", base, err)
	}
	return dst, nil
}

// unsupportedHere is hostcap's refusal of f on this host, for the stubs of
// builds that cannot have f at all (another OS, an Intel Mac).
func unsupportedHere(f hostcap.Feature) error {
	if err := hostcap.CheckFeatures(hostcap.Current(), f); err != nil {
		return err
	}
	return fmt.Errorf("%w: this build of Vivarium has no %s", vm.ErrUnsupported, f)
}
