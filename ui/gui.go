package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"
)

// GUI is Vivarium's window and the screens it opens.
type GUI struct {
	app   fyne.App
	deps  Deps
	ctx   context.Context
	model *bridge
	lib   *libraryWindow

	// Open secondary windows, so a second click raises the first.
	settings map[string]*settingsEditor
	wizard   *wizard
	prefs    *prefsWindow
	// The last snapshot list read per VM, shown while it is read again.
	snapshotLists map[string]snapshotList
}

// New builds the GUI on a (the product's or fyne's test) app. Nothing is
// read until Start.
func New(a fyne.App, d Deps) *GUI {
	d.fill(a)
	a.Settings().SetTheme(Theme())
	g := &GUI{app: a, deps: d, ctx: context.Background(), settings: map[string]*settingsEditor{}}
	g.model = newBridge(d)
	g.lib = newLibraryWindow(g)
	return g
}

// Start reads the library and follows its changes and the runners' until
// ctx is done.
func (g *GUI) Start(ctx context.Context) {
	g.ctx = ctx
	g.model.start(ctx)
}

// Window is the library window, the GUI's main window.
func (g *GUI) Window() fyne.Window { return g.lib.win }

// MainMenu is the menu bar: fyne moves About and Preferences… into the app
// menu on macOS, where Quit already is.
func (g *GUI) MainMenu() *fyne.MainMenu {
	newVM := fyne.NewMenuItem("New VM…", g.ShowCreateWizard)
	newVM.Shortcut = &desktop.CustomShortcut{KeyName: fyne.KeyN, Modifier: fyne.KeyModifierShortcutDefault}
	prefs := fyne.NewMenuItem("Preferences…", g.ShowPreferences)
	about := fyne.NewMenuItem("About", g.showAbout)
	return fyne.NewMainMenu(
		fyne.NewMenu("File", newVM, fyne.NewMenuItemSeparator(), prefs),
		fyne.NewMenu("Help", about),
	)
}

// TrayMenu is the system tray's menu, for desktops that have one.
func (g *GUI) TrayMenu() *fyne.Menu {
	return fyne.NewMenu("Vivarium",
		fyne.NewMenuItem("Show Library", func() { g.lib.win.Show(); g.lib.win.RequestFocus() }),
		fyne.NewMenuItem("New VM…", g.ShowCreateWizard),
	)
}

func (g *GUI) showAbout() {
	icon := fixedImage(AppIcon(), 96, 96)
	name := widget.NewLabelWithStyle("Vivarium", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	version := widget.NewLabelWithStyle("Version "+g.deps.Version, fyne.TextAlignCenter, fyne.TextStyle{})
	what := widget.NewLabelWithStyle("Virtual machines you run by clicking.", fyne.TextAlignCenter, fyne.TextStyle{})
	dialog.ShowCustom("About Vivarium", "Close", container.NewVBox(container.NewCenter(icon), name, version, what, layout.NewSpacer()), g.lib.win)
}

// showError tells the person what went wrong, in the library window.
func (g *GUI) showError(err error) {
	if err != nil {
		dialog.ShowError(err, g.lib.win)
	}
}
