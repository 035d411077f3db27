//go:build darwin && arm64

package vz

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/Code-Hex/vz/v3"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/hostcap"
	"github.com/vivarium-vm/vivarium/vm/ipsw"
)

// progressInterval is how often installation progress is reported.
const progressInterval = 500 * time.Millisecond

// InstallMacOS installs macOS from the restore image at ipswPath into the
// VM directory b (normally the temporary directory of vm.Library.Create's
// Prepare step, which removes it when this fails). It raises c.CPUs and
// c.Memory to the image's minimums (the caller saves c), writes the
// hardware model, machine identifier and auxiliary storage, makes missing
// disks, and runs Apple's installer, reporting its fraction done (0 to 1)
// to progress, which may be nil. Failures are ipsw sentences.
func InstallMacOS(ctx context.Context, b vm.Bundle, c *vm.Config, ipswPath string, progress func(float64)) error {
	host := hostcap.Current()
	if err := hostcap.CheckFeatures(host, hostcap.MacOSGuest); err != nil {
		return err
	}
	if c.OS != vm.OSMacOS {
		return fmt.Errorf("%s: only a macOS guest can be installed from a restore image; this is a %s guest", c.Name, c.OS)
	}
	if err := ipsw.CheckRestoreImageFile(ipswPath); err != nil {
		return err
	}
	image, err := vz.LoadMacOSRestoreImageFromPath(ipswPath)
	if err != nil {
		return explainInstall(err)
	}
	requirements := image.MostFeaturefulSupportedConfiguration()
	model := requirements.HardwareModel()
	if requirements.MinimumSupportedCPUCount() == 0 || !model.Supported() || len(model.DataRepresentation()) == 0 {
		return ipsw.NewerThanHostError(image.OperatingSystemVersion().String(), host.Version.String())
	}
	c.CPUs = max(c.CPUs, int(requirements.MinimumSupportedCPUCount()))
	c.Memory = max(c.Memory, vm.Size(requirements.MinimumSupportedMemorySize()))

	if err := vm.WriteFileAtomic(b.HardwareModelPath(), model.DataRepresentation(), 0o644); err != nil {
		return fmt.Errorf("saving the hardware model: %w", err)
	}
	id, err := vz.NewMacMachineIdentifier()
	if err != nil {
		return fmt.Errorf("making a machine identifier: %w", framework(err))
	}
	if err := vm.WriteFileAtomic(b.MachineIDPath(), id.DataRepresentation(), 0o644); err != nil {
		return fmt.Errorf("saving the machine identifier: %w", err)
	}
	if _, err := vz.NewMacAuxiliaryStorage(b.AuxPath(), vz.WithCreatingMacAuxiliaryStorage(model)); err != nil {
		return fmt.Errorf("making the auxiliary storage %s: %w", b.AuxPath(), framework(err))
	}
	disks := make([]string, len(c.Disks))
	for i, d := range c.Disks {
		disks[i] = b.DiskPath(d.File)
		if _, err := os.Stat(disks[i]); errors.Is(err, fs.ErrNotExist) {
			if err := vm.CreateDisk(disks[i], d.Size); err != nil {
				return err
			}
		}
	}

	plan, err := Plan(&vm.RunSpec{Bundle: b, Config: c, Disks: disks, AuxStorage: b.AuxPath(), Headless: true}, host)
	if err != nil {
		return err
	}
	m, err := build(plan, nil)
	if err != nil {
		return err
	}
	defer m.close()
	machine, err := vz.NewVirtualMachine(m.config)
	if err != nil {
		return fmt.Errorf("making the VM to install into: %w", framework(err))
	}
	installer, err := vz.NewMacOSInstaller(machine, ipswPath)
	if err != nil {
		return explainInstall(err)
	}
	stopReporting := reportProgress(installer, progress)
	err = installer.Install(ctx)
	stopReporting()
	if err != nil {
		return explainInstall(err)
	}
	if progress != nil {
		progress(1)
	}
	return nil
}

// reportProgress polls the installer's fraction done until the returned
// function is called.
func reportProgress(installer *vz.MacOSInstaller, progress func(float64)) (stop func()) {
	if progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(progressInterval)
		defer tick.Stop()
		last := -1.0
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if f := installer.FractionCompleted(); f != last {
					last = f
					progress(f)
				}
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// LatestRestoreImageURL asks Apple for the newest macOS restore image this
// Mac supports.
func LatestRestoreImageURL(ctx context.Context) (string, error) {
	if err := hostcap.CheckFeatures(hostcap.Current(), hostcap.MacOSGuest); err != nil {
		return "", err
	}
	type answer struct {
		url string
		err error
	}
	result := make(chan answer, 1)
	go func() {
		url, err := vz.GetLatestSupportedMacOSRestoreImageURL()
		result <- answer{url, err}
	}()
	select {
	case a := <-result:
		if a.err != nil {
			return "", explainInstall(a.err)
		}
		return a.url, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// InstallRosetta installs Rosetta for Linux after the user agreed to
// Apple's license prompt, which the framework shows.
func InstallRosetta(ctx context.Context) error {
	if err := hostcap.CheckFeatures(hostcap.Current(), hostcap.Rosetta); err != nil {
		return err
	}
	err := call(ctx, "installing Rosetta for Linux", vz.LinuxRosettaDirectoryShareInstallRosetta)
	if err != nil {
		return fmt.Errorf("%w; try again, or run softwareupdate --install-rosetta", err)
	}
	return nil
}

// explainInstall turns a framework failure into ipsw's sentence for it,
// keeping Apple's text in the details.
func explainInstall(err error) error {
	var ns *vz.NSError
	if errors.As(err, &ns) {
		return ipsw.ExplainInstallError(ns.Domain, ns.Code, ns.LocalizedDescription+" "+ns.UserInfo, err)
	}
	return ipsw.ExplainInstallError("", 0, err.Error(), err)
}
