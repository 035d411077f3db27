// Package ui is Vivarium's window: the VM library, the settings editor, the
// create wizard and the preferences, in fyne.
//
// It never imports a backend or fyne's app package, so its tests run with
// CGO_ENABLED=0 and no display: it talks to the small interfaces below, and
// app/ wires them to the real library, runners and host. Work that blocks
// runs off the UI goroutine; widgets change only through Deps.Do (fyne.Do in
// the product, a queue the tests drain in theirs).
package ui

import (
	"context"

	"fyne.io/fyne/v2"

	"github.com/vivarium-vm/vivarium/vm"
)

// Library is the folder of VMs. *vm.Library is one.
type Library interface {
	List(ctx context.Context) ([]*vm.Info, error)
	Inspect(ctx context.Context, name string) (*vm.Info, error)
	Create(ctx context.Context, c *vm.Config, opts vm.CreateOptions) (*vm.Info, error)
	Edit(ctx context.Context, name string, fn func(*vm.Config) error) (*vm.Info, error)
	// EditIfUnchanged is Edit that writes only while config.toml is still
	// at base (vm.ErrConfigChanged otherwise).
	EditIfUnchanged(ctx context.Context, name string, base vm.Revision, fn func(*vm.Config) error) (*vm.Info, error)
	Rename(ctx context.Context, from, to string) (*vm.Info, error)
	Clone(ctx context.Context, from, to string, progress vm.Progress) (*vm.Info, error)
	Delete(ctx context.Context, name string) error
}

var _ Library = (*vm.Library)(nil)

// Watcher says when the library on disk may have changed: a VM made,
// renamed, deleted or edited by the CLI or by hand, a runner come or gone.
type Watcher interface {
	// Watch sends on the returned channel after each burst of changes. The
	// channel is closed when ctx is done or watching fails for good.
	Watch(ctx context.Context) (<-chan struct{}, error)
}

// StartOptions adjust one start of a VM.
type StartOptions struct {
	// Disposable runs the VM on throw-away copies of its disks.
	Disposable bool
}

// Controller runs VMs: it spawns their runners and talks to their control
// sockets.
type Controller interface {
	Start(ctx context.Context, name string, opts StartOptions) error
	// Stop asks the guest to shut down, or with force ends it at once.
	Stop(ctx context.Context, name string, force bool) error
	Pause(ctx context.Context, name string) error
	Resume(ctx context.Context, name string) error
	// Suspend saves the VM's state and stops it; errors.Is(err,
	// vm.ErrUnsupported) where the backend cannot.
	Suspend(ctx context.Context, name string) error
	// ShowWindow opens a running VM's window again after it was closed.
	ShowWindow(ctx context.Context, name string) error
	// Subscribe delivers the state changes of every VM that has a runner,
	// including runners started before the GUI, until ctx is done.
	Subscribe(ctx context.Context) (<-chan StateChange, error)
}

// StateChange is one VM's new state, as its runner reports it.
type StateChange struct {
	Name  string
	State vm.State
	// Err says why the VM stopped, when it did not stop cleanly.
	Err error
}

// Feature is a setting or action a host may not offer. Its value is the
// config key it governs (or the action's name), so the settings editor can
// grey out the right field.
type Feature string

// Features the GUI asks the host about.
const (
	FeatureMacOSGuest Feature = "os.macos"
	FeatureVZ         Feature = "backend.vz"
	FeatureQEMU       Feature = "backend.qemu"
	FeatureAutoResize Feature = "display.auto_resize"
	FeatureClipboard  Feature = "clipboard"
	FeatureRosetta    Feature = "rosetta"
	FeatureShares     Feature = "shares"
	FeatureBridged    Feature = "network.bridged"
	FeatureAudio      Feature = "audio"
	FeatureDisposable Feature = "disposable"
	FeatureSuspend    Feature = "suspend"
	FeatureArch       Feature = "arch"
	// FeatureThumbnail is the library's picture of a VM's last screen.
	FeatureThumbnail Feature = "thumbnail"
	// FeatureAccel is the QEMU accelerator; the host's sentence says which
	// one the VM will really run with when it is not the obvious one.
	FeatureAccel Feature = "accel"
	// FeatureShowWindow: the VM's window can be opened again while it runs.
	FeatureShowWindow Feature = "show-window"
)

// Host says what this computer cannot do.
type Host interface {
	// Unavailable returns the sentence saying why feature cannot be used by
	// a VM configured as c on this host ("Display auto-resize needs macOS 14
	// or later on this Mac"), or "" when it can.
	Unavailable(c *vm.Config, feature Feature) string
}

// Progress is how far a long step has come. Total is 0 when unknown.
type Progress struct {
	Step        string
	Done, Total int64
}

// MacOSInstaller gets a restore image ("latest", a local .ipsw path or an
// https URL) and installs macOS into a VM being created, in tmp.
type MacOSInstaller interface {
	InstallMacOS(ctx context.Context, tmp vm.Bundle, c *vm.Config, source string, progress func(Progress)) error
}

// Files is the host's file manager and file pickers: native ones on macOS,
// fyne's dialogs elsewhere (DialogFiles).
type Files interface {
	// Reveal shows path in Finder or the Files app.
	Reveal(path string) error
	// PickFile asks for an existing file, optionally one of extensions
	// (".iso"). done gets "" when the person cancels.
	PickFile(parent fyne.Window, title string, extensions []string, done func(path string, err error))
	// PickFolder asks for an existing folder.
	PickFolder(parent fyne.Window, title string, done func(path string, err error))
}

// Deps is everything the GUI is wired to. Library and Controller are
// required; the rest have a sensible default when nil.
type Deps struct {
	Library    Library
	Controller Controller
	// Watcher reports changes made outside the GUI; without it the list is
	// refreshed only by the GUI's own actions and the controller's events.
	Watcher Watcher
	// Host greys out what this computer cannot do; nil allows everything.
	Host Host
	// Installer installs macOS guests; nil greys out the macOS choice.
	Installer MacOSInstaller
	// Importer brings VMs from UTM, Tart, VirtualBuddy and disk images in;
	// nil greys out "Import a VM…" and refuses drops.
	Importer Importer
	// Registry pushes and pulls VMs through OCI registries; nil greys out
	// "Pull from a Registry…" and hides "Push…".
	Registry Registry
	// Snapshots lists, takes, restores and deletes snapshots and keeps
	// disposable runs; nil hides the Snapshots section.
	Snapshots Snapshots
	// Files reveals folders and picks files; nil means DialogFiles.
	Files Files
	// GuestSetup sets Linux guests up (Set Up Guest…); nil hides it.
	GuestSetup GuestSetupFunc
	// Do runs f on the UI goroutine; nil means fyne.Do.
	Do func(f func())
	// RunningChanged is told how many VMs run, each time that changes
	// (the Dock badge, a tray tooltip).
	RunningChanged func(n int)
	// LibraryRoot is the folder the library is in, shown in Preferences.
	LibraryRoot string
	// LibraryPinned says the library location was fixed from outside (for
	// example by VIVARIUM_HOME), so the preference does not apply now.
	LibraryPinned bool
	// Version is shown in About.
	Version string
}

func (d *Deps) fill(a fyne.App) {
	if d.Do == nil {
		d.Do = fyne.Do
	}
	if d.Host == nil {
		d.Host = allowAll{}
	}
	if d.Files == nil {
		d.Files = DialogFiles{App: a}
	}
}

type allowAll struct{}

func (allowAll) Unavailable(*vm.Config, Feature) string { return "" }
