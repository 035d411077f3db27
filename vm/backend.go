package vm

import (
	"context"
	"io"
)

// Backend runs VMs of one kind (vz, qemu). The GUI and CLI never import a
// backend; app/ chooses one by Config.Backend.
type Backend interface {
	// Name is the config's backend value ("vz", "qemu").
	Name() string
	// Check reports whether this host can run c. A refusal is a sentence
	// that names the feature and what the host lacks, wrapping
	// ErrUnsupported.
	Check(c *Config) error
	// Start boots the VM described by spec and returns once it runs.
	Start(ctx context.Context, spec *RunSpec) (Instance, error)
}

// RunSpec is one run of a VM: its config and the files this run uses, which
// for a disposable run are throw-away copies rather than the VM's own.
type RunSpec struct {
	Bundle Bundle
	Config *Config
	// Disks holds the path to use for each of Config.Disks, in order.
	Disks []string
	// EFIVars and AuxStorage are the variable store (EFI guests) and the
	// auxiliary storage (macOS guests) to use; empty when the guest has none.
	EFIVars    string
	AuxStorage string
	// Seed is a cloud-init seed image to attach read-only (Bundle.SeedPath
	// when guest setup made one); empty for none.
	Seed string
	// Disposable is true when the disks above are throw-away copies.
	Disposable bool
	// Headless runs without a window; the serial console goes to Console.
	Headless bool
	// Recovery boots a macOS guest into recoveryOS.
	Recovery bool
	// Restore is a saved state to resume from, if any.
	Restore string
	// Console receives the guest's serial console output.
	Console io.Writer
	// Log receives the backend's own diagnostics (run/runner.log).
	Log io.Writer
}

// Instance is a running VM.
type Instance interface {
	// State is the VM's state now.
	State() State
	// Changes delivers each state change; it is closed once the VM stopped.
	Changes() <-chan State
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
	// RequestStop asks the guest to shut down (ACPI power button).
	RequestStop(ctx context.Context) error
	// ForceStop ends the VM at once, like pulling the plug.
	ForceStop(ctx context.Context) error
	// Wait blocks until the VM has stopped. It returns nil when the guest
	// powered off or was stopped, or the reason it died.
	Wait(ctx context.Context) error
}

// StateSaver is an Instance that can save its machine state to a file and
// stop, to be resumed by a later start (vz on macOS 14+).
type StateSaver interface {
	SaveState(ctx context.Context, path string) error
}

// StateCapturer is an Instance that can write its memory and device state
// to a file while it is paused, and run on afterwards: the memory of a live
// snapshot. A device that cannot be saved makes it refuse, wrapping
// ErrUnsupported, with a sentence naming the device and what to do, before
// anything was written.
type StateCapturer interface {
	CaptureState(ctx context.Context, path string) error
}

// Screenshotter is an Instance that can save its screen as a PNG file.
type Screenshotter interface {
	Screenshot(ctx context.Context, path string) error
}

// Windowed is an Instance that shows its display in a window the runner
// must drive from the process's main thread (vz's NSApplication). RunWindow
// blocks until the window closes or the VM stops.
type Windowed interface {
	RunWindow(ctx context.Context, title string) error
}

// WindowReopener is a Windowed instance whose window is a program of its
// own (QEMU's SPICE viewer): a person may close it while the VM keeps
// running, and RunWindow may then be called again to show it.
type WindowReopener interface {
	Windowed
	WindowReopens() bool
}

// ThrowawayMaker makes the throw-away disk for a disposable run: a file at
// dst the VM may write, backed by base, without ever writing base.
type ThrowawayMaker interface {
	MakeThrowaway(ctx context.Context, base, dst string) (path string, err error)
}

// ThrowawayKeeper turns a throw-away disk MakeThrowaway made into a
// standalone disk image at dst that needs nothing of the base (keeping a
// disposable session as a new VM).
type ThrowawayKeeper interface {
	KeepThrowaway(ctx context.Context, throwaway, dst string) error
}
