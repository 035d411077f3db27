package ui

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/vivarium-vm/vivarium/vm"
)

// Keys of Vivarium's preferences in fyne's store.
const (
	PrefLibraryRoot    = "library.root"
	PrefDefaultBackend = "backend.default"
	PrefQEMUBinary     = "qemu.binary"
)

// Preferences are the settings of Vivarium itself. An empty value means
// the built-in default.
type Preferences struct {
	LibraryRoot    string // the folder of VMs
	DefaultBackend string // for new VMs other than macOS
	QEMUBinary     string // qemu-system-* to run, instead of the one on PATH
}

// LoadPreferences reads the preferences from fyne's store.
func LoadPreferences(p fyne.Preferences) Preferences {
	return Preferences{
		LibraryRoot:    p.String(PrefLibraryRoot),
		DefaultBackend: p.String(PrefDefaultBackend),
		QEMUBinary:     p.String(PrefQEMUBinary),
	}
}

// Save writes the preferences to fyne's store.
func (pr Preferences) Save(p fyne.Preferences) {
	p.SetString(PrefLibraryRoot, pr.LibraryRoot)
	p.SetString(PrefDefaultBackend, pr.DefaultBackend)
	p.SetString(PrefQEMUBinary, pr.QEMUBinary)
}

// Validate says what is wrong with each preference, keyed by its Pref name.
func (pr Preferences) Validate() map[string]error {
	errs := map[string]error{}
	if pr.LibraryRoot != "" && !filepath.IsAbs(pr.LibraryRoot) {
		errs[PrefLibraryRoot] = fmt.Errorf("%q is relative; give the full path of a folder", pr.LibraryRoot)
	} else if st, err := os.Stat(pr.LibraryRoot); pr.LibraryRoot != "" && err == nil && !st.IsDir() {
		errs[PrefLibraryRoot] = fmt.Errorf("%q is a file; choose a folder", pr.LibraryRoot)
	}
	switch pr.DefaultBackend {
	case "", vm.BackendVZ, vm.BackendQEMU:
	default:
		errs[PrefDefaultBackend] = fmt.Errorf("%q is not a backend; choose vz or qemu", pr.DefaultBackend)
	}
	if pr.QEMUBinary != "" {
		st, err := os.Stat(pr.QEMUBinary)
		switch {
		case !filepath.IsAbs(pr.QEMUBinary):
			errs[PrefQEMUBinary] = fmt.Errorf("%q is relative; give the full path, like /usr/bin/qemu-system-x86_64", pr.QEMUBinary)
		case errors.Is(err, os.ErrNotExist):
			errs[PrefQEMUBinary] = fmt.Errorf("%s does not exist; install QEMU or choose its qemu-system program", pr.QEMUBinary)
		case err != nil:
			errs[PrefQEMUBinary] = err
		case st.IsDir() || st.Mode()&0o111 == 0:
			errs[PrefQEMUBinary] = fmt.Errorf("%s is not a program; choose the qemu-system program itself", pr.QEMUBinary)
		}
	}
	return errs
}

// defaultBackend is the backend for a new VM that is not macOS.
func (g *GUI) defaultBackend() string {
	if b := LoadPreferences(g.app.Preferences()).DefaultBackend; b != "" {
		return b
	}
	return vm.DefaultBackend()
}

type prefsWindow struct {
	win fyne.Window
}

// ShowPreferences opens the preferences window.
func (g *GUI) ShowPreferences() {
	if g.prefs != nil {
		g.prefs.win.RequestFocus()
		return
	}
	cur := LoadPreferences(g.app.Preferences())
	w := g.app.NewWindow("Preferences")
	w.SetIcon(AppIcon())
	g.prefs = &prefsWindow{win: w}
	w.SetOnClosed(func() { g.prefs = nil })

	root := widget.NewEntry()
	root.SetText(cur.LibraryRoot)
	root.SetPlaceHolder(g.deps.LibraryRoot)
	rootNote := "Where your VMs are kept. Vivarium opens the library from here the next time it starts; existing VMs are not moved."
	if g.deps.LibraryPinned {
		rootNote = fmt.Sprintf("This time the library is %s, set from outside (VIVARIUM_HOME or --library), so this preference waits.", g.deps.LibraryRoot)
	}
	rootHint, rootErr := hintLabel(rootNote), errorLabel()
	browseRoot := widget.NewButton("Browse…", func() { pick(g, w, "Library location", true, nil, root.SetText) })

	backends := []choice{{"", "Automatic (" + backendName(vm.DefaultBackend()) + ")"}, {vm.BackendVZ, backendName(vm.BackendVZ)}, {vm.BackendQEMU, backendName(vm.BackendQEMU)}}
	var backendLabels []string
	for _, b := range backends {
		backendLabels = append(backendLabels, b.label)
	}
	backend := widget.NewSelect(backendLabels, nil)
	backendHint, backendErr := hintLabel("For new Linux and other VMs; macOS guests always use Apple Virtualization."), errorLabel()

	qemu := widget.NewEntry()
	qemu.SetText(cur.QEMUBinary)
	qemu.SetPlaceHolder("qemu-system-* found on PATH")
	qemuHint, qemuErr := hintLabel("The QEMU program the qemu backend runs. Leave empty to use the one on PATH."), errorLabel()
	browseQEMU := widget.NewButton("Browse…", func() { pick(g, w, "QEMU program", false, nil, qemu.SetText) })

	save := widget.NewButton("Save", nil)
	save.Importance = widget.HighImportance
	read := func() Preferences {
		pr := Preferences{LibraryRoot: strings.TrimSpace(root.Text), QEMUBinary: strings.TrimSpace(qemu.Text)}
		for _, b := range backends {
			if b.label == backend.Selected {
				pr.DefaultBackend = b.value
			}
		}
		return pr
	}
	check := func() {
		pr := read()
		errs := pr.Validate()
		show := func(l *widget.Label, key string) {
			if err := errs[key]; err != nil {
				setShown(l, err.Error())
			} else {
				setShown(l, "")
			}
		}
		show(rootErr, PrefLibraryRoot)
		show(backendErr, PrefDefaultBackend)
		show(qemuErr, PrefQEMUBinary)
		note := "For new Linux and other VMs; macOS guests always use Apple Virtualization."
		if pr.DefaultBackend != "" {
			probe := vm.NewConfig("probe", vm.OSLinux)
			probe.Backend = pr.DefaultBackend
			feat := FeatureQEMU
			if pr.DefaultBackend == vm.BackendVZ {
				feat = FeatureVZ
			}
			if why := g.deps.Host.Unavailable(probe, feat); why != "" {
				note = why
			}
		}
		setShown(backendHint, note)
		enableWidget(save, len(errs) == 0)
	}
	for _, b := range backends {
		if b.value == cur.DefaultBackend {
			backend.SetSelected(b.label)
		}
	}
	root.OnChanged = func(string) { check() }
	qemu.OnChanged = func(string) { check() }
	backend.OnChanged = func(string) { check() }
	save.OnTapped = func() {
		read().Save(g.app.Preferences())
		w.Close()
	}

	cell := func(objs ...fyne.CanvasObject) fyne.CanvasObject {
		return container.New(layout.NewCustomPaddedVBoxLayout(0), objs...)
	}
	label := func(s string) *widget.Label {
		return widget.NewLabelWithStyle(s, fyne.TextAlignTrailing, fyne.TextStyle{})
	}
	grid := container.New(layout.NewFormLayout(),
		label("Library location"), cell(container.NewBorder(nil, nil, nil, browseRoot, root), rootHint, rootErr),
		label("Default backend"), cell(backend, backendHint, backendErr),
		label("QEMU program"), cell(container.NewBorder(nil, nil, nil, browseQEMU, qemu), qemuHint, qemuErr),
	)
	buttons := container.NewHBox(layout.NewSpacer(), widget.NewButton("Cancel", w.Close), save)
	w.SetContent(container.NewPadded(container.NewBorder(nil, buttons, nil, nil, grid)))
	w.Resize(fyne.NewSize(680, 360))
	check()
	w.Show()
}
