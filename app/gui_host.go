package main

import (
	"context"
	"os/exec"
	"runtime"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/hostcap"
	"github.com/vivarium-vm/vivarium/vm/ipsw"
	"github.com/vivarium-vm/vivarium/vm/qemu"
	"github.com/vivarium-vm/vivarium/vm/vz"
)

// guiHost answers the GUI's "can this computer do it?" from hostcap's
// table, so a greyed-out setting says the same sentence the vz backend
// refuses with.
type guiHost struct {
	host hostcap.Host
	// qemuViewer is what shows QEMU VMs here (qemu.DetectViewer): on Linux
	// the clipboard is shared only through the SPICE viewer.
	qemuViewer string
}

var _ ui.Host = guiHost{}

func newGUIHost() guiHost {
	return guiHost{host: hostcap.Current(), qemuViewer: qemu.DetectViewer(runtime.GOOS, exec.LookPath)}
}

// Sentences for what the qemu backend cannot do.
const (
	qemuNoSuspend = "Suspending a VM needs the vz backend (Apple Virtualization); QEMU VMs can be paused or stopped"
	qemuNoMacOS   = "macOS guests run only with the vz backend (Apple Virtualization)"
	// qemuNoShowWindow: only the SPICE viewer is a window of its own.
	qemuNoShowWindow = "This VM's window opens when it starts and cannot be opened again while it runs"
)

func (h guiHost) Unavailable(c *vm.Config, f ui.Feature) string {
	vzBackend := c.Backend == vm.BackendVZ
	switch f {
	case ui.FeatureMacOSGuest:
		return h.why(hostcap.MacOSGuest)
	case ui.FeatureVZ:
		if why := h.why(hostcap.AppleVirtualization); why != "" {
			return why
		}
		if c.OS != vm.OSMacOS {
			return h.why(hostcap.LinuxGuest)
		}
	case ui.FeatureQEMU:
		if c.OS == vm.OSMacOS {
			return qemuNoMacOS
		}
	case ui.FeatureAutoResize:
		if vzBackend {
			return h.why(hostcap.AutoResize)
		}
	case ui.FeatureClipboard:
		if vzBackend && c.OS != vm.OSMacOS {
			return h.why(hostcap.Clipboard)
		}
		if c.Backend == vm.BackendQEMU {
			return qemu.ClipboardUnavailable(h.host.OS, h.qemuViewer)
		}
	case ui.FeatureShowWindow:
		if c.Backend != vm.BackendQEMU || h.qemuViewer != qemu.ViewerSPICE {
			return qemuNoShowWindow
		}
	case ui.FeatureRosetta:
		return h.why(hostcap.Rosetta)
	case ui.FeatureSuspend:
		if !vzBackend {
			return qemuNoSuspend
		}
		return h.why(hostcap.SaveRestore)
	}
	return ""
}

func (h guiHost) why(f hostcap.Feature) string {
	if reason, ok := hostcap.Unavailable(h.host, f); !ok {
		return reason
	}
	return ""
}

// guiInstaller gets a restore image (from the library's download cache,
// resuming) and installs macOS with the vz backend, as 'vivarium create
// --ipsw' does.
type guiInstaller struct{ lib *vm.Library }

var _ ui.MacOSInstaller = guiInstaller{}

func (i guiInstaller) InstallMacOS(ctx context.Context, tmp vm.Bundle, c *vm.Config, source string, progress func(ui.Progress)) error {
	if err := vz.New(hostcap.Current()).Check(c); err != nil {
		return err
	}
	s, err := ipsw.Resolve(source)
	if err != nil {
		return err
	}
	image := s.Path
	if s.Kind != ipsw.SourceFile {
		url := s.URL
		if s.Kind == ipsw.SourceLatest {
			progress(ui.Progress{Step: "Asking Apple for the latest macOS…"})
			if url, err = vz.LatestRestoreImageURL(ctx); err != nil {
				return err
			}
		}
		image, err = ipsw.NewDownloader(ipswCacheDir(i.lib)).Fetch(ctx, url, func(p ipsw.Progress) {
			progress(ui.Progress{Step: "Downloading macOS…", Done: p.Done, Total: max(p.Total, 0)})
		})
		if err != nil {
			return err
		}
	}
	if err := ipsw.CheckRestoreImageFile(image); err != nil {
		return err
	}
	progress(ui.Progress{Step: "Installing macOS…"})
	return vz.InstallMacOS(ctx, tmp, c, image, func(f float64) {
		progress(ui.Progress{Step: "Installing macOS…", Done: int64(f * 1000), Total: 1000})
	})
}
