package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// prefQuitNoticeShown remembers that the person was told once that VMs
// keep running after the window closes.
const prefQuitNoticeShown = "quit.notice.shown"

// libraryWindow is the main window: the VMs on the left, the selected one
// on the right, or one obvious button when there are none.
type libraryWindow struct {
	g   *GUI
	win fyne.Window

	selected string
	rows     *fyne.Container // of *vmRow
	listNote *widget.Label   // a library that cannot be read says why here
	detail   *fyne.Container
	shown    string          // the VM the detail pane shows, to keep its scrolling
	body     *fyne.Container // the split view, the empty state, or nothing yet
	split    *container.Split
	empty    fyne.CanvasObject
}

func newLibraryWindow(g *GUI) *libraryWindow {
	lw := &libraryWindow{g: g}
	lw.win = g.app.NewWindow("Vivarium")
	lw.win.SetIcon(AppIcon())
	lw.win.SetMainMenu(g.MainMenu())

	lw.rows = container.NewVBox()
	lw.listNote = hintLabel("")
	lw.listNote.Importance = widget.DangerImportance
	title := widget.NewLabelWithStyle("Virtual Machines", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	add := widget.NewButtonWithIcon("", theme.ContentAddIcon(), g.ShowCreateWizard)
	add.Importance = widget.LowImportance
	prefs := widget.NewButtonWithIcon("", theme.SettingsIcon(), g.ShowPreferences)
	prefs.Importance = widget.LowImportance
	header := container.NewBorder(nil, nil, nil, container.NewHBox(add, prefs), title)
	sidebar := container.NewBorder(
		container.NewVBox(header, widget.NewSeparator()), nil, nil, nil,
		container.NewVScroll(container.NewVBox(lw.listNote, lw.rows)),
	)
	lw.detail = container.NewStack()
	lw.split = container.NewHSplit(container.NewPadded(sidebar), lw.detail)
	lw.split.Offset = 0.32
	lw.empty = lw.emptyState()
	lw.body = container.NewStack()

	lw.win.SetContent(lw.body)
	lw.win.Resize(fyne.NewSize(1080, 700))
	lw.win.Canvas().SetOnTypedKey(lw.typedKey)
	lw.win.SetCloseIntercept(lw.close)
	lw.win.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) { g.ImportDropped(uris) })
	g.model.listen(lw.update)
	g.model.onError = g.showError
	return lw
}

// emptyState is what a new user sees: what Vivarium is for, and one button.
func (lw *libraryWindow) emptyState() fyne.CanvasObject {
	icon := fixedImage(AppIcon(), 128, 128)
	title := widget.NewLabelWithStyle("Welcome to Vivarium", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameHeadingText
	text := widget.NewLabelWithStyle("Run a Linux desktop, try a macOS beta, or keep a throw-away VM\nthat forgets everything when it stops.", fyne.TextAlignCenter, fyne.TextStyle{})
	text.Importance = widget.LowImportance
	create := widget.NewButtonWithIcon("Create a VM", theme.ContentAddIcon(), lw.g.ShowCreateWizard)
	create.Importance = widget.HighImportance
	return container.NewCenter(container.NewVBox(
		container.NewCenter(icon), title, text,
		container.NewCenter(container.New(layout.NewCustomPaddedLayout(12, 0, 0, 0), create)),
	))
}

// update redraws the window from the model.
func (lw *libraryWindow) update() {
	m := lw.g.model
	switch {
	case !m.loaded:
		lw.body.Objects = nil
	case m.listErr == nil && len(m.items) == 0:
		lw.selected = ""
		lw.body.Objects = []fyne.CanvasObject{lw.empty}
	default:
		lw.body.Objects = []fyne.CanvasObject{lw.split}
	}
	lw.body.Refresh()

	if m.listErr != nil {
		setShown(lw.listNote, "Cannot read the library: "+m.listErr.Error())
	} else {
		setShown(lw.listNote, "")
	}
	if lw.selected == "" || !m.has(lw.selected) {
		lw.selected = ""
		if len(m.items) > 0 {
			lw.selected = m.items[0].info.Name
		}
	}
	for len(lw.rows.Objects) < len(m.items) {
		lw.rows.Add(newVMRow(nil))
	}
	lw.rows.Objects = lw.rows.Objects[:len(m.items)]
	for i, it := range m.items {
		row := lw.rows.Objects[i].(*vmRow)
		name := it.info.Name
		row.onTap = func() { lw.selectVM(name) }
		row.set(it, name == lw.selected)
	}
	lw.rows.Refresh()
	lw.showDetail()
}

// selectVM shows name in the detail pane.
func (lw *libraryWindow) selectVM(name string) {
	lw.selected = name
	for _, o := range lw.rows.Objects {
		row := o.(*vmRow)
		row.selected = row.name == name
		row.Refresh()
	}
	lw.showDetail()
}

func (lw *libraryWindow) showDetail() {
	it := lw.g.model.item(lw.selected)
	if it == nil {
		lw.detail.Objects = nil
	} else {
		d := newDetail(lw.g, it)
		// The same VM shown again after a change stays scrolled where it was.
		if old, ok := firstScroll(lw.detail.Objects); ok && lw.shown == lw.selected {
			if s, ok := d.(*container.Scroll); ok {
				s.Offset = old.Offset
			}
		}
		lw.detail.Objects = []fyne.CanvasObject{d}
	}
	lw.shown = lw.selected
	lw.detail.Refresh()
}

// typedKey moves the selection with the arrow keys, as in Finder.
func (lw *libraryWindow) typedKey(ev *fyne.KeyEvent) {
	items := lw.g.model.items
	if len(items) == 0 {
		return
	}
	i := 0
	for j, it := range items {
		if it.info.Name == lw.selected {
			i = j
		}
	}
	switch ev.Name {
	case fyne.KeyUp:
		i = max(i-1, 0)
	case fyne.KeyDown:
		i = min(i+1, len(items)-1)
	default:
		return
	}
	lw.selectVM(items[i].info.Name)
}

// close quits, first saying once that running VMs keep running.
func (lw *libraryWindow) close() {
	prefs := lw.g.app.Preferences()
	if lw.g.model.running <= 0 || prefs.Bool(prefQuitNoticeShown) {
		lw.g.app.Quit()
		return
	}
	d := dialog.NewInformation("Your VMs keep running",
		"Running VMs keep running after Vivarium closes.\n"+
			"Open Vivarium again to see them, stop them or pause them.", lw.win)
	d.SetOnClosed(func() {
		prefs.SetBool(prefQuitNoticeShown, true)
		lw.g.app.Quit()
	})
	d.Show()
}

func firstScroll(objs []fyne.CanvasObject) (*container.Scroll, bool) {
	if len(objs) == 0 {
		return nil, false
	}
	s, ok := objs[0].(*container.Scroll)
	return s, ok
}
