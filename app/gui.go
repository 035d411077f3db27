package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"

	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/ui/fswatch"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/oci"
	"github.com/vivarium-vm/vivarium/vm/snapshot"
)

// appID names Vivarium to fyne: its preferences live under this name.
const appID = "org.vivarium.Vivarium"

// guiScreenEnv, when set, opens a screen as soon as the window shows:
// "wizard", "preferences" or "settings:NAME". The screenshot script uses it
// where clicking would be guesswork.
const guiScreenEnv = "VIVARIUM_GUI_SCREEN"

// guiEnv is what the library window is wired to. Library is required; the
// rest default to the real thing when nil.
type guiEnv struct {
	Library *vm.Library
	// LibraryPinned is set when the library's location was given on the
	// command line or by VIVARIUM_HOME; the location in Preferences then
	// waits for a launch without them.
	LibraryPinned bool
	Controller    ui.Controller
	Host          ui.Host
	Installer     ui.MacOSInstaller
	Getenv        func(string) string
}

// runGUI opens the library window and returns when it is closed. On macOS
// it must be called on the main goroutine (main_darwin.go locks it to the
// main thread). Quitting leaves running VMs running: each has its runner.
func runGUI(ctx context.Context, env guiEnv) error {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	a := app.NewWithID(appID)
	a.SetIcon(ui.AppIcon())
	prefs := ui.LoadPreferences(a.Preferences())

	lib, libErr := env.Library, error(nil)
	if !env.LibraryPinned && prefs.LibraryRoot != "" && prefs.LibraryRoot != lib.Root {
		if l, err := vm.OpenLibrary(prefs.LibraryRoot); err != nil {
			libErr = fmt.Errorf("the library location in Preferences cannot be used, so Vivarium opened %s: %w; choose another location in Preferences", lib.Root, err)
		} else {
			l.Ask = lib.Ask
			lib = l
		}
	}
	// Runners the GUI spawns inherit the environment: this is how they learn
	// the QEMU program chosen in Preferences.
	if prefs.QEMUBinary != "" && env.Getenv(QEMUEnv) == "" {
		if err := os.Setenv(QEMUEnv, prefs.QEMUBinary); err != nil {
			return fmt.Errorf("setting %s: %w", QEMUEnv, err)
		}
	}
	deps := ui.Deps{
		Library:        lib,
		Controller:     env.Controller,
		Watcher:        fswatch.Library{Root: lib.Root},
		Host:           env.Host,
		Installer:      env.Installer,
		Importer:       newImporter(lib, env.Getenv(QEMUEnv)),
		Registry:       oci.Registries{Lib: lib},
		Snapshots:      &snapshot.Manager{Library: lib, Runner: controlRunner{}},
		Files:          guiFiles(a),
		RunningChanged: guiRunningChanged(),
		LibraryRoot:    lib.Root,
		LibraryPinned:  env.LibraryPinned,
		Version:        version,
	}
	if deps.Controller == nil {
		deps.Controller = &guiController{lib: lib}
	}
	if deps.Host == nil {
		deps.Host = newGUIHost()
	}
	if deps.Installer == nil {
		deps.Installer = guiInstaller{lib: lib}
	}
	deps.GuestSetup = guestSetupFunc(lib, env.Getenv("HOME"))
	g := ui.New(a, deps)
	if trayAvailable(runtime.GOOS, env.Getenv) {
		if d, ok := a.(desktop.App); ok {
			d.SetSystemTrayMenu(g.TrayMenu())
			d.SetSystemTrayIcon(ui.AppIcon())
		}
	}

	guiCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.Start(guiCtx)
	closed := make(chan struct{})
	defer close(closed)
	go func() {
		select {
		case <-ctx.Done(): // Ctrl-C or SIGTERM
			// Leave at once rather than through fyne's Quit, which can panic
			// when the pointer moves over a closing window (fyne issue 5981).
			// Nothing is lost: VMs have their own runners, preferences are
			// saved as they change, and a half-made VM is removed by the
			// next listing.
			os.Exit(0)
		case <-closed:
		}
	}()

	w := g.Window()
	w.Show()
	if libErr != nil {
		dialog.ShowError(libErr, w)
	}
	openScreen(g, env.Getenv(guiScreenEnv))
	a.Run()
	return nil
}

// trayAvailable says whether this desktop can show a tray icon: the Mac's
// menu bar always can; on Linux fyne's tray needs a D-Bus session bus, and
// without one it would wait on a bus that is not there.
func trayAvailable(goos string, getenv func(string) string) bool {
	switch goos {
	case "darwin":
		return true
	case "linux", "freebsd", "openbsd", "netbsd":
		return getenv("DBUS_SESSION_BUS_ADDRESS") != ""
	}
	return true
}

// openScreen opens the screen named by VIVARIUM_GUI_SCREEN.
func openScreen(g *ui.GUI, screen string) {
	switch name, isSettings := strings.CutPrefix(screen, "settings:"); {
	case isSettings:
		g.ShowSettings(name)
	case screen == "wizard":
		g.ShowCreateWizard()
	case screen == "preferences":
		g.ShowPreferences()
	}
}
