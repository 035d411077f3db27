package ui_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/ui/fswatch"
	"github.com/vivarium-vm/vivarium/ui/uitest"
	"github.com/vivarium-vm/vivarium/vm"
)

// harness is a GUI wired to a real library in a temporary folder, a fake
// controller that holds real locks, and a UI loop the test drains.
type harness struct {
	t     *testing.T
	app   fyne.App
	gui   *ui.GUI
	lib   *vm.Library
	ctl   *uitest.Controller
	loop  *uitest.Loop
	files *uitest.Files
	host  uitest.Host
	inst  *uitest.Installer
}

type option func(*harness, *ui.Deps)

func withHost(refuse map[ui.Feature]string) option {
	return func(h *harness, d *ui.Deps) { h.host.Refuse = refuse; d.Host = h.host }
}

func withoutInstaller() option { return func(_ *harness, d *ui.Deps) { d.Installer = nil } }

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	h := &harness{t: t, app: test.NewTempApp(t), loop: uitest.NewLoop(), files: &uitest.Files{}, inst: &uitest.Installer{}}
	lib, err := vm.OpenLibrary(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h.lib = lib
	h.ctl = uitest.NewController(t, lib)
	d := ui.Deps{
		Library:     lib,
		Controller:  h.ctl,
		Watcher:     fswatch.Library{Root: lib.Root, Settle: 10 * time.Millisecond},
		Files:       h.files,
		Installer:   h.inst,
		Do:          h.loop.Do,
		LibraryRoot: lib.Root,
		Version:     "test",
	}
	for _, o := range opts {
		o(h, &d)
	}
	h.gui = ui.New(h.app, d)
	h.gui.Window().Resize(fyne.NewSize(1080, 700))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		h.loop.Drain()
	})
	h.gui.Start(ctx)
	h.loop.WaitFor(t, "the library to load", func() bool { return len(texts(h.gui.Window())) > 0 })
	return h
}

// makeVM creates a VM the way the CLI does, straight in the library.
func (h *harness) makeVM(name string, edit func(c *vm.Config)) {
	h.t.Helper()
	c := vm.NewConfig(name, vm.OSLinux)
	c.Disks = []vm.Disk{{Size: vm.GiB}}
	if edit != nil {
		edit(c)
	}
	if _, err := h.lib.Create(context.Background(), c, vm.CreateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

// waitText waits until text shows in w.
func (h *harness) waitText(w fyne.Window, text string) {
	h.t.Helper()
	h.loop.WaitFor(h.t, "“"+text+"” to show", func() bool { return hasText(w, text) })
}

// visible lists what a person can see in w: the top dialog first, then the
// window's content.
func visible(w fyne.Window) []fyne.CanvasObject {
	var out []fyne.CanvasObject
	overlays := w.Canvas().Overlays().List()
	for i := len(overlays) - 1; i >= 0; i-- {
		out = append(out, visibleIn(overlays[i])...)
	}
	return append(out, visibleIn(w.Canvas().Content())...)
}

// visibleIn lists o and everything visible inside it.
func visibleIn(o fyne.CanvasObject) []fyne.CanvasObject {
	if o == nil || !o.Visible() {
		return nil
	}
	out := []fyne.CanvasObject{o}
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			out = append(out, visibleIn(c)...)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			out = append(out, visibleIn(c)...)
		}
	}
	return out
}

// texts is every piece of text shown in w.
func texts(w fyne.Window) []string {
	var out []string
	for _, o := range visible(w) {
		switch x := o.(type) {
		case *canvas.Text:
			out = append(out, x.Text)
		case *widget.Label:
			out = append(out, x.Text)
		}
	}
	return out
}

func hasText(w fyne.Window, text string) bool {
	for _, s := range texts(w) {
		if strings.Contains(s, text) {
			return true
		}
	}
	return false
}

// findButton finds the visible button labelled label, in the top dialog if
// one is open.
func findButton(t *testing.T, w fyne.Window, label string) *widget.Button {
	t.Helper()
	var labels []string
	for _, o := range visible(w) {
		if b, ok := o.(*widget.Button); ok {
			if b.Text == label {
				return b
			}
			labels = append(labels, b.Text)
		}
	}
	t.Fatalf("no button %q; the buttons are %q", label, labels)
	return nil
}

func hasButton(w fyne.Window, label string) bool {
	for _, o := range visible(w) {
		if b, ok := o.(*widget.Button); ok && b.Text == label {
			return true
		}
	}
	return false
}

// tap taps the button labelled label, failing if it is disabled.
func tap(t *testing.T, w fyne.Window, label string) {
	t.Helper()
	b := findButton(t, w, label)
	if b.Disabled() {
		t.Fatalf("button %q is disabled", label)
	}
	test.Tap(b)
}

// walk calls f with each visible object in o and the objects around it,
// outermost first.
func walk(o fyne.CanvasObject, around []fyne.CanvasObject, f func(o fyne.CanvasObject, around []fyne.CanvasObject)) {
	if o == nil || !o.Visible() {
		return
	}
	f(o, around)
	around = append(around, o)
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			walk(c, around, f)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			walk(c, around, f)
		}
	}
}

// tappableWith finds the innermost tappable thing (a list row, a card)
// that shows a label reading exactly text.
func tappableWith(t *testing.T, w fyne.Window, text string) fyne.Tappable {
	t.Helper()
	var found fyne.Tappable
	walk(w.Canvas().Content(), nil, func(o fyne.CanvasObject, around []fyne.CanvasObject) {
		shown := ""
		switch x := o.(type) {
		case *widget.Label:
			shown = x.Text
		case *canvas.Text:
			shown = x.Text
		}
		if shown != text || found != nil {
			return
		}
		for i := len(around) - 1; i >= 0; i-- {
			if tp, ok := around[i].(fyne.Tappable); ok {
				found = tp
				return
			}
		}
	})
	if found == nil {
		t.Fatalf("nothing to tap shows %q; the window shows %q", text, texts(w))
	}
	return found
}

// tapText taps the row or card showing text.
func tapText(t *testing.T, w fyne.Window, text string) {
	t.Helper()
	test.Tap(tappableWith(t, w, text))
}

// badge is the state the library's list shows for the VM called name.
func (h *harness) badge(name string) string {
	h.t.Helper()
	row := tappableWith(h.t, h.gui.Window(), name).(fyne.CanvasObject)
	state := ""
	walk(row, nil, func(o fyne.CanvasObject, _ []fyne.CanvasObject) {
		if tx, ok := o.(*canvas.Text); ok && isState(tx.Text) {
			state = tx.Text
		}
	})
	return state
}

// entryAfter finds the entry that follows the label reading label.
func entryAfter(t *testing.T, w fyne.Window, label string) *widget.Entry {
	t.Helper()
	seen := false
	var found *widget.Entry
	walk(w.Canvas().Content(), nil, func(o fyne.CanvasObject, _ []fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Label:
			if x.Text == label {
				seen = true
			}
		case *widget.Entry:
			if seen && found == nil {
				found = x
			}
		}
	})
	if found == nil {
		t.Fatalf("no entry after %q; the window shows %q", label, texts(w))
	}
	return found
}

// check finds the check box labelled label.
func check(t *testing.T, w fyne.Window, label string) *widget.Check {
	t.Helper()
	for _, o := range visible(w) {
		if c, ok := o.(*widget.Check); ok && c.Text == label {
			return c
		}
	}
	t.Fatalf("no check box %q; the window shows %q", label, texts(w))
	return nil
}

func isState(s string) bool {
	for _, st := range []vm.State{vm.StateStopped, vm.StateStarting, vm.StateRunning, vm.StatePaused, vm.StateStopping, vm.StateSuspended, vm.StateBroken} {
		if s == string(st) {
			return true
		}
	}
	return false
}

// typeInto replaces the text of the focused entry by typing, as a person
// who selects all and types does.
func typeInto(t *testing.T, w fyne.Window, text string) {
	t.Helper()
	f := w.Canvas().Focused()
	if f == nil {
		t.Fatal("nothing has the keyboard focus")
	}
	if s, ok := f.(fyne.Shortcutable); ok {
		s.TypedShortcut(&fyne.ShortcutSelectAll{})
	}
	if text == "" {
		f.TypedKey(&fyne.KeyEvent{Name: fyne.KeyBackspace})
	}
	for _, r := range text {
		f.TypedRune(r)
	}
}

// press sends a key to whatever has the keyboard focus.
func press(t *testing.T, w fyne.Window, key fyne.KeyName) {
	t.Helper()
	f := w.Canvas().Focused()
	if f == nil {
		t.Fatal("nothing has the keyboard focus")
	}
	f.TypedKey(&fyne.KeyEvent{Name: key})
}

// windowTitled finds an open window of the app.
func (h *harness) windowTitled(title string) fyne.Window {
	h.t.Helper()
	for _, w := range h.app.Driver().AllWindows() {
		if w.Title() == title {
			return w
		}
	}
	h.t.Fatalf("no window %q is open", title)
	return nil
}

func (h *harness) hasWindow(title string) bool {
	for _, w := range h.app.Driver().AllWindows() {
		if w.Title() == title {
			return true
		}
	}
	return false
}

// writeFile writes path whole at once (as editors and Vivarium do), so the
// library's watcher never reads it half written.
func writeFile(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := vm.WriteFileAtomic(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
