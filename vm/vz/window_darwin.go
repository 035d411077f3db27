//go:build darwin

package vz

import (
	"context"

	"github.com/Code-Hex/vz/v3"
	"github.com/progrium/darwinkit/dispatch"
	"github.com/progrium/darwinkit/macos/foundation"

	"github.com/vivarium-vm/vivarium/assets"
	"github.com/vivarium-vm/vivarium/internal/cocoa"
)

// RunWindow shows the VM's display in vz's window (VZVirtualMachineView
// with capturesSystemKeys, automaticallyReconfiguresDisplay on macOS 14+,
// and a pause/resume/stop toolbar), titled title, with the guest OS's icon
// in the Dock and title as the process name in the menu bar's About. It
// must run on the main thread (runtime.LockOSThread from main's init) and
// returns when the window closes (its close button or Quit), the VM stops,
// or ctx ends. The runner then stops a VM that still runs (see
// vm/runner/window.go); until it has stopped, this process leaves the Dock,
// so no icon without a window is left behind.
func (i *instance) RunWindow(ctx context.Context, title string) error {
	if title == "" {
		title = i.plan.Window.Title
	}
	foundation.ProcessInfo_ProcessInfo().SetProcessName(title)
	icon := assets.OSIcon(i.plan.Window.GuestOS)
	mainQueue := dispatch.MainQueue()
	// Blocks on the main queue run inside vz's event loop, once its
	// NSApplication exists: making NSApp here first would replace vz's
	// VZApplication, whose terminate: ends the loop instead of the process.
	mainQueue.DispatchAsync(func() { cocoa.SetAppIcon(icon) })
	stop := context.AfterFunc(ctx, func() {
		mainQueue.DispatchAsync(cocoa.Terminate)
	})
	defer stop()
	err := i.machine.StartGraphicApplication(i.plan.Window.Width, i.plan.Window.Height,
		vz.WithWindowTitle(title),
		vz.WithController(true),
	)
	// The loop has ended and NSApp is vz's: no window is left to show.
	cocoa.HideFromDock()
	return err
}
