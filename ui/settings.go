package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/vivarium-vm/vivarium/vm"
)

// settingField is one setting in the editor: a label, a widget, a quiet
// hint (what it does, or why the host cannot use it) and the line that
// says what is wrong with the value.
type settingField struct {
	keys  []string // the config keys whose errors show here
	tab   string
	label *widget.Label
	cell  *fyne.Container
	hint  *widget.Label
	error *widget.Label
	note  string // the hint when nothing else needs saying

	// apply copies the widget's value into c; a value that cannot be read
	// is returned as the field's error.
	apply func(c *vm.Config) *vm.FieldError
	// visible, when set, hides the field for configs it does not apply to;
	// clear then removes its value from c.
	visible func(c *vm.Config) bool
	clear   func(c *vm.Config)
	// feature, when set, is asked of the host; enable greys out the widget.
	feature func(c *vm.Config) Feature
	enable  func(on bool)
	isOn    func() bool
}

func (f *settingField) show(on bool) {
	if on {
		f.label.Show()
		f.cell.Show()
	} else {
		f.label.Hide()
		f.cell.Hide()
	}
}

// choice is one option of a select: the config value and what people read.
type choice struct{ value, label string }

// settingsEditor is the settings window of one VM.
type settingsEditor struct {
	g    *GUI
	win  fyne.Window
	name string
	base *vm.Config // what the fields start from
	// opened is the config as it was on disk when the window opened (or
	// last reloaded), and rev its revision: Save writes only over that.
	opened  *vm.Config
	rev     vm.Revision
	fields  []*settingField
	shares  []*settingField // rebuilt as shares come and go
	tab     string          // the tab fields are being made for
	tabs    *container.AppTabs
	running *widget.Label
	problem *widget.Label
	save    *widget.Button

	sharesBox *fyne.Container
	addShare  *widget.Button
	shareNote *widget.Label
	unlisten  func()
	saving    bool
}

// ShowSettings opens the settings of the VM called name.
func (g *GUI) ShowSettings(name string) {
	if e := g.settings[name]; e != nil {
		e.win.RequestFocus()
		return
	}
	if !g.model.loaded {
		// Asked before the library was read (at launch): open once it is.
		var remove func()
		remove = g.model.listen(func() {
			remove()
			g.ShowSettings(name)
		})
		return
	}
	it := g.model.item(name)
	if it == nil || it.info.Config == nil {
		return
	}
	e := newSettingsEditor(g, name, it.info.Config, it.info.Revision)
	g.settings[name] = e
	e.win.Show()
}

func newSettingsEditor(g *GUI, name string, c *vm.Config, rev vm.Revision) *settingsEditor {
	e := &settingsEditor{g: g, name: name, opened: c.Clone(), rev: rev}
	e.win = g.app.NewWindow(fmt.Sprintf("“%s” Settings", name))
	e.win.SetIcon(AppIcon())
	e.build(c)
	e.win.Resize(fyne.NewSize(820, 580))
	e.win.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyS, Modifier: fyne.KeyModifierShortcutDefault}, func(fyne.Shortcut) {
		if !e.save.Disabled() {
			e.doSave()
		}
	})
	e.win.SetOnClosed(func() {
		e.unlisten()
		delete(g.settings, name)
	})
	e.unlisten = g.model.listen(e.updateRunning)
	e.updateRunning()
	return e
}

// build makes the window's content, its fields showing c.
func (e *settingsEditor) build(c *vm.Config) {
	e.base = c.Clone()
	e.fields, e.shares = nil, nil
	e.save = nil // no validation while the fields are made
	e.tabs = container.NewAppTabs(
		e.section("General", e.general),
		e.section("System", e.system),
		e.section("Boot", e.boot),
		e.section("Disks", e.disks),
		e.section("Display", e.display),
		e.section("Network", e.network),
		e.section("Shared Folders", e.sharedFolders),
		e.section("Clipboard & Rosetta", e.integration),
		e.section("Disposable", e.disposable),
	)
	e.tabs.SetTabLocation(container.TabLocationLeading)

	e.running = widget.NewLabel("")
	e.running.Importance = widget.WarningImportance
	e.running.Wrapping = fyne.TextWrapWord
	e.problem = errorLabel()
	e.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), e.doSave)
	e.save.Importance = widget.HighImportance
	cancel := widget.NewButton("Cancel", e.win.Close)
	bottom := container.NewVBox(widget.NewSeparator(),
		container.NewBorder(nil, nil, nil, container.NewHBox(cancel, e.save), e.problem))

	e.win.SetContent(container.NewBorder(e.running, container.NewPadded(bottom), nil, nil, e.tabs))
	e.validate()
}

// section makes one tab from the fields build adds.
func (e *settingsEditor) section(title string, build func() fyne.CanvasObject) *container.TabItem {
	e.tab = title
	return container.NewTabItem(title, container.NewVScroll(container.New(layout.NewCustomPaddedLayout(12, 12, 16, 16), build())))
}

// updateRunning says, while the VM runs, that saving is for its next start.
func (e *settingsEditor) updateRunning() {
	it := e.g.model.item(e.name)
	if it != nil && it.info.State.Active() {
		setShown(e.running, fmt.Sprintf("“%s” is running. Changes you save now apply the next time it starts.", e.name))
		e.save.SetText("Save for Next Start")
	} else {
		setShown(e.running, "")
		e.save.SetText("Save")
	}
}

// form lays fields out as labelled rows.
func form(fields ...*settingField) *fyne.Container {
	c := container.New(layout.NewFormLayout())
	for _, f := range fields {
		c.Add(f.label)
		c.Add(f.cell)
	}
	return c
}

func (e *settingsEditor) newField(key, label, note string, w fyne.CanvasObject) *settingField {
	f := &settingField{keys: []string{key}, tab: e.tab, note: note}
	f.label = widget.NewLabelWithStyle(label, fyne.TextAlignTrailing, fyne.TextStyle{})
	f.hint = hintLabel(note)
	f.error = errorLabel()
	f.cell = container.New(layout.NewCustomPaddedVBoxLayout(0), w, f.hint, f.error)
	f.apply = func(*vm.Config) *vm.FieldError { return nil }
	e.fields = append(e.fields, f)
	return f
}

// entryField is a text setting; set reads the text into the config.
func (e *settingsEditor) entryField(key, label, note string, get func(*vm.Config) string, set func(*vm.Config, string) error) (*settingField, *widget.Entry) {
	entry := widget.NewEntry()
	entry.SetText(get(e.base))
	entry.OnChanged = func(string) { e.validate() }
	f := e.newField(key, label, note, entry)
	f.apply = func(c *vm.Config) *vm.FieldError {
		if err := set(c, entry.Text); err != nil {
			return &vm.FieldError{Key: key, Msg: err.Error()}
		}
		return nil
	}
	f.enable = func(on bool) { enableWidget(entry, on) }
	return f, entry
}

func (e *settingsEditor) intField(key, label, note string, ptr func(*vm.Config) *int) *settingField {
	f, _ := e.entryField(key, label, note,
		func(c *vm.Config) string { return strconv.Itoa(*ptr(c)) },
		func(c *vm.Config, s string) error {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("%q is not a whole number", s)
			}
			*ptr(c) = n
			return nil
		})
	return f
}

func (e *settingsEditor) checkField(key, label, text, note string, ptr func(*vm.Config) *bool) *settingField {
	check := widget.NewCheck(text, func(bool) { e.validate() })
	check.SetChecked(*ptr(e.base))
	f := e.newField(key, label, note, check)
	f.apply = func(c *vm.Config) *vm.FieldError { *ptr(c) = check.Checked; return nil }
	f.clear = func(c *vm.Config) { *ptr(c) = false }
	f.enable = func(on bool) { enableWidget(check, on) }
	f.isOn = func() bool { return check.Checked }
	return f
}

func (e *settingsEditor) selectField(key, label, note string, choices []choice, ptr func(*vm.Config) *string) *settingField {
	labels := make([]string, len(choices))
	for i, ch := range choices {
		labels[i] = ch.label
	}
	sel := widget.NewSelect(labels, nil)
	for _, ch := range choices {
		if ch.value == *ptr(e.base) {
			sel.SetSelected(ch.label)
		}
	}
	sel.OnChanged = func(string) { e.validate() }
	f := e.newField(key, label, note, sel)
	f.apply = func(c *vm.Config) *vm.FieldError {
		for _, ch := range choices {
			if ch.label == sel.Selected {
				*ptr(c) = ch.value
			}
		}
		return nil
	}
	f.enable = func(on bool) { enableWidget(sel, on) }
	return f
}

// pathField is an entry with a Browse… button for a host file or folder.
func (e *settingsEditor) pathField(key, label, note string, folder bool, exts []string, ptr func(*vm.Config) *string) *settingField {
	f, entry := e.entryField(key, label, note,
		func(c *vm.Config) string { return *ptr(c) },
		func(c *vm.Config, s string) error { *ptr(c) = strings.TrimSpace(s); return nil })
	browse := widget.NewButton("Browse…", func() {
		pick(e.g, e.win, label, folder, exts, entry.SetText)
	})
	f.cell.Objects[0] = container.NewBorder(nil, nil, nil, browse, entry)
	f.clear = func(c *vm.Config) { *ptr(c) = "" }
	return f
}

// pick asks for a file or folder and hands its path to set.
func pick(g *GUI, w fyne.Window, title string, folder bool, exts []string, set func(string)) {
	done := func(path string, err error) {
		if err != nil {
			dialog.ShowError(err, w)
			return
		}
		if path != "" {
			set(path)
		}
	}
	if folder {
		g.deps.Files.PickFolder(w, title, done)
	} else {
		g.deps.Files.PickFile(w, title, exts, done)
	}
}

type disableable interface {
	Enable()
	Disable()
}

func enableWidget(w disableable, on bool) {
	if on {
		w.Enable()
	} else {
		w.Disable()
	}
}

func fixed(f Feature) func(*vm.Config) Feature { return func(*vm.Config) Feature { return f } }

func (e *settingsEditor) general() fyne.CanvasObject {
	name := widget.NewLabel(e.name)
	nameField := e.newField("name", "Name", "Rename the VM from the library.", name)
	osField := e.selectField("os", "Operating system", "", []choice{
		{vm.OSLinux, "Linux"}, {vm.OSMacOS, "macOS"}, {vm.OSOther, "Other"},
	}, func(c *vm.Config) *string { return &c.OS })
	osField.feature = func(c *vm.Config) Feature {
		if c.OS == vm.OSMacOS {
			return FeatureMacOSGuest
		}
		return ""
	}
	backend := e.selectField("backend", "Backend", "", []choice{
		{vm.BackendVZ, "Apple Virtualization (vz)"}, {vm.BackendQEMU, "QEMU"},
	}, func(c *vm.Config) *string { return &c.Backend })
	backend.feature = func(c *vm.Config) Feature {
		if c.Backend == vm.BackendVZ {
			return FeatureVZ
		}
		return FeatureQEMU
	}
	arch := e.selectField("arch", "Architecture", "The guest's processor. With QEMU, a guest of another architecture than this computer's runs emulated, much slower; Apple Virtualization runs only this computer's.", []choice{
		{vm.ArchARM64, "arm64"}, {vm.ArchAMD64, "x86_64"},
	}, func(c *vm.Config) *string { return &c.Arch })
	arch.feature = fixed(FeatureArch)
	return form(nameField, osField, backend, arch, e.accelField())
}

func (e *settingsEditor) system() fyne.CanvasObject {
	cpus := e.intField("cpus", "CPUs", "Processor cores the guest sees.", func(c *vm.Config) *int { return &c.CPUs })
	mem, _ := e.entryField("memory", "Memory", "Write it with a unit, like 4GiB or 512MiB.",
		func(c *vm.Config) string { return c.Memory.String() },
		func(c *vm.Config, s string) error {
			v, err := vm.ParseSize(s)
			if err != nil {
				return err
			}
			c.Memory = v
			return nil
		})
	audio := e.checkField("audio", "Audio", "Sound in and out", "", func(c *vm.Config) *bool { return &c.Audio })
	audio.feature = fixed(FeatureAudio)
	serial := e.checkField("serial", "Serial console", "Keep a log of the serial console", "Written to run/console.log in the VM's folder.", func(c *vm.Config) *bool { return &c.Serial })
	return form(cpus, mem, audio, serial)
}

func (e *settingsEditor) boot() fyne.CanvasObject {
	mode := e.selectField("boot.mode", "Boot", "", []choice{
		{vm.BootMacOS, "macOS"}, {vm.BootEFI, "EFI (from the disk, or an installer ISO)"}, {vm.BootLinux, "Linux kernel and initrd"},
	}, func(c *vm.Config) *string { return &c.Boot.Mode })
	isEFI := func(c *vm.Config) bool { return c.Boot.Mode == vm.BootEFI }
	isLinux := func(c *vm.Config) bool { return c.Boot.Mode == vm.BootLinux }
	iso := e.pathField("boot.iso", "Installer ISO", "Leave empty once the guest is installed.", false, []string{".iso", ".img"}, func(c *vm.Config) *string { return &c.Boot.ISO })
	iso.visible = isEFI
	kernel := e.pathField("boot.kernel", "Kernel", "", false, nil, func(c *vm.Config) *string { return &c.Boot.Kernel })
	kernel.visible = isLinux
	initrd := e.pathField("boot.initrd", "Initrd", "", false, nil, func(c *vm.Config) *string { return &c.Boot.Initrd })
	initrd.visible = isLinux
	cmdline, _ := e.entryField("boot.cmdline", "Command line", "For example: console=hvc0 root=/dev/vda",
		func(c *vm.Config) string { return c.Boot.Cmdline },
		func(c *vm.Config, s string) error { c.Boot.Cmdline = strings.TrimSpace(s); return nil })
	cmdline.visible = isLinux
	cmdline.clear = func(c *vm.Config) { c.Boot.Cmdline = "" }
	return form(mode, iso, kernel, initrd, cmdline)
}

func (e *settingsEditor) disks() fyne.CanvasObject {
	it := e.g.model.item(e.name)
	if len(e.base.Disks) == 0 {
		return widget.NewLabel("This VM has no disks.")
	}
	var fields []*settingField
	for i, d := range e.base.Disks {
		size := d.Size.Human()
		if it != nil && i < len(it.info.Disks) {
			size = fmt.Sprintf("%s, %s used", it.info.Disks[i].Size.Human(), it.info.Disks[i].Allocated.Human())
		}
		f := e.checkField(fmt.Sprintf("disks[%d].read_only", i), d.File, "Read-only", size,
			func(c *vm.Config) *bool { return &c.Disks[i].ReadOnly })
		f.keys = append(f.keys, fmt.Sprintf("disks[%d].file", i), fmt.Sprintf("disks[%d].size", i))
		fields = append(fields, f)
	}
	return form(fields...)
}

func (e *settingsEditor) display() fyne.CanvasObject {
	w := e.intField("display.width", "Width", "Pixels.", func(c *vm.Config) *int { return &c.Display.Width })
	h := e.intField("display.height", "Height", "Pixels.", func(c *vm.Config) *int { return &c.Display.Height })
	ppi := e.intField("display.ppi", "Pixels per inch", "80 for a normal screen, 144 for Retina.", func(c *vm.Config) *int { return &c.Display.PPI })
	auto := e.checkField("display.auto_resize", "Resize", "Follow the window's size", "The guest's screen changes size with its window.", func(c *vm.Config) *bool { return &c.Display.AutoResize })
	auto.feature = fixed(FeatureAutoResize)
	// Whether on or off, auto-resize never stops a VM from starting: grey
	// it out whenever the host cannot honour it (on vz, that is every Mac).
	auto.isOn = func() bool { return false }
	return form(w, h, ppi, auto)
}

func (e *settingsEditor) network() fyne.CanvasObject {
	mode := e.selectField("network.mode", "Network", "", []choice{
		{vm.NetNAT, "Shared (NAT)"}, {vm.NetBridged, "Bridged"}, {vm.NetNone, "None"},
	}, func(c *vm.Config) *string { return &c.Network.Mode })
	mode.feature = func(c *vm.Config) Feature {
		if c.Network.Mode == vm.NetBridged {
			return FeatureBridged
		}
		return ""
	}
	iface, _ := e.entryField("network.interface", "Interface", "The host's network interface, such as en0.",
		func(c *vm.Config) string { return c.Network.Interface },
		func(c *vm.Config, s string) error { c.Network.Interface = strings.TrimSpace(s); return nil })
	iface.visible = func(c *vm.Config) bool { return c.Network.Mode == vm.NetBridged }
	iface.clear = func(c *vm.Config) { c.Network.Interface = "" }
	mac, macEntry := e.entryField("network.mac", "MAC address", "",
		func(c *vm.Config) string { return c.Network.MAC },
		func(c *vm.Config, s string) error { c.Network.MAC = strings.TrimSpace(s); return nil })
	mac.visible = func(c *vm.Config) bool { return c.Network.Mode != vm.NetNone }
	renew := widget.NewButton("New Address", func() { macEntry.SetText(vm.RandomMAC()) })
	mac.cell.Objects[0] = container.NewBorder(nil, nil, nil, renew, macEntry)
	return form(mode, iface, mac, e.forwardsField())
}

func (e *settingsEditor) sharedFolders() fyne.CanvasObject {
	e.sharesBox = container.NewVBox()
	e.shareNote = hintLabel("Folders on this computer the guest can open. Linux guests mount each by its tag: mount -t virtiofs TAG /mnt (9p with QEMU).")
	e.addShare = widget.NewButtonWithIcon("Add Folder…", theme.ContentAddIcon(), func() {
		pick(e.g, e.win, "Share a folder", true, nil, func(path string) {
			c := e.collect()
			c.Shares = append(c.Shares, vm.Share{Path: path})
			c.FillDefaults()
			e.rebuildShares(c.Shares)
		})
	})
	e.rebuildShares(e.base.Shares)
	return container.NewVBox(e.shareNote, e.sharesBox, container.NewHBox(e.addShare))
}

// rebuildShares lays out one group of fields per share, keyed by index.
func (e *settingsEditor) rebuildShares(shares []vm.Share) {
	saved := e.tab
	e.tab = "Shared Folders"
	defer func() { e.tab = saved }()
	e.fields = slices.DeleteFunc(e.fields, func(f *settingField) bool { return slices.Contains(e.shares, f) })
	e.shares = nil
	e.sharesBox.Objects = nil
	// The share fields read and write a fresh list, by index.
	e.base.Shares = slices.Clone(shares)
	for i, s := range shares {
		key := fmt.Sprintf("shares[%d]", i)
		shareOf := func(c *vm.Config) *vm.Share { return &c.Shares[i] }
		path := e.pathField(key+".path", "Folder", "", true, nil, func(c *vm.Config) *string { return &shareOf(c).Path })
		path.clear = nil
		// The tag is made after automount, whose value decides if it shows.
		auto := e.checkField(key+".automount", "", "Mount automatically in macOS", "", func(c *vm.Config) *bool { return &shareOf(c).Automount })
		auto.visible = func(c *vm.Config) bool { return c.OS == vm.OSMacOS }
		ro := e.checkField(key+".read_only", "", "Read-only", "", func(c *vm.Config) *bool { return &shareOf(c).ReadOnly })
		tag, _ := e.entryField(key+".tag", "Tag", "",
			func(*vm.Config) string { return s.Tag },
			func(c *vm.Config, v string) error { shareOf(c).Tag = strings.TrimSpace(v); return nil })
		tag.visible = func(c *vm.Config) bool { return !shareOf(c).Automount }
		tag.clear = func(c *vm.Config) { shareOf(c).Tag = "" }
		for _, f := range []*settingField{path, tag, auto, ro} {
			f.feature = fixed(FeatureShares)
		}
		remove := widget.NewButtonWithIcon("Remove", theme.ContentRemoveIcon(), func() {
			c := e.collect()
			c.Shares = slices.Delete(c.Shares, i, i+1)
			e.rebuildShares(c.Shares)
		})
		remove.Importance = widget.LowImportance
		group := form(path, tag, auto, ro)
		e.shares = append(e.shares, path, tag, auto, ro)
		e.sharesBox.Add(container.NewVBox(widget.NewSeparator(), group, container.NewHBox(layout.NewSpacer(), remove)))
	}
	e.sharesBox.Refresh()
	e.validate()
}

func (e *settingsEditor) integration() fyne.CanvasObject {
	clip := e.checkField("clipboard", "Clipboard", "Share the clipboard with the guest",
		"Copy here, paste there, both ways, through the SPICE agent (spice-vdagent in Linux guests).", func(c *vm.Config) *bool { return &c.Clipboard })
	clip.feature = fixed(FeatureClipboard)
	rosetta := e.checkField("rosetta", "Rosetta", "Run x86_64 Linux programs with Rosetta",
		"Mount it in the guest with the tag \"rosetta\".", func(c *vm.Config) *bool { return &c.Rosetta })
	rosetta.visible = func(c *vm.Config) bool { return c.OS == vm.OSLinux }
	rosetta.feature = fixed(FeatureRosetta)
	return form(clip, rosetta)
}

func (e *settingsEditor) disposable() fyne.CanvasObject {
	d := e.checkField("disposable", "Disposable", "Always start disposable",
		"Every run starts from the disks as they are now and throws its changes away when the VM stops. "+
			"Turn it off to keep changes again. You can also start one disposable run from the library.",
		func(c *vm.Config) *bool { return &c.Disposable })
	d.feature = fixed(FeatureDisposable)
	return form(d)
}

// collect reads every field into a copy of the config, returning the
// values that cannot be read as errors.
func (e *settingsEditor) collect() *vm.Config {
	c, _ := e.candidate()
	return c
}

func (e *settingsEditor) candidate() (*vm.Config, vm.FieldErrors) {
	c := e.base.Clone()
	var errs vm.FieldErrors
	for _, f := range e.fields {
		if f.visible != nil && !f.visible(c) {
			if f.clear != nil {
				f.clear(c)
			}
			continue
		}
		if fe := f.apply(c); fe != nil {
			errs = append(errs, fe)
		}
	}
	return c, errs
}

// validate shows, under each field, what is wrong with it; greys out what
// the host cannot do; and enables Save only for a config that is valid.
func (e *settingsEditor) validate() {
	if e.save == nil {
		return // still building the window
	}
	c, errs := e.candidate()
	var fes vm.FieldErrors
	if err := c.Validate(); errors.As(err, &fes) {
		for _, fe := range fes {
			if errs.For(fe.Key) == nil {
				errs = append(errs, fe)
			}
		}
	}
	shown := map[string]bool{}
	var tabs []string
	for _, f := range e.fields {
		vis := f.visible == nil || f.visible(c)
		f.show(vis)
		var msgs []string
		for _, k := range f.keys {
			if fe := errs.For(k); fe != nil {
				msgs = append(msgs, fieldSentence(f.label.Text, fe.Msg))
				shown[k] = true
			}
		}
		setShown(f.error, strings.Join(msgs, "\n"))
		if len(msgs) > 0 && vis && !slices.Contains(tabs, f.tab) {
			tabs = append(tabs, f.tab)
		}
		e.applyHost(f, c)
	}
	if e.addShare != nil {
		why := e.g.deps.Host.Unavailable(c, FeatureShares)
		enableWidget(e.addShare, why == "")
		if why != "" {
			setShown(e.shareNote, why)
		}
	}
	var other []string
	for _, fe := range errs {
		if !shown[fe.Key] {
			other = append(other, fe.Error())
		}
	}
	var problem []string
	if len(tabs) > 0 {
		problem = append(problem, "Fix the settings marked in red before saving: "+strings.Join(tabs, ", ")+".")
	}
	problem = append(problem, other...)
	setShown(e.problem, strings.Join(problem, "\n"))
	enableWidget(e.save, len(errs) == 0 && !e.saving)
}

// applyHost greys out a setting the host cannot use, with the host's
// sentence. A setting already on stays changeable, so it can be turned off.
func (e *settingsEditor) applyHost(f *settingField, c *vm.Config) {
	if f.feature == nil {
		return
	}
	why := ""
	if feat := f.feature(c); feat != "" {
		why = e.g.deps.Host.Unavailable(c, feat)
	}
	if f.enable != nil && f.isOn != nil {
		f.enable(why == "" || f.isOn())
	}
	if why == "" {
		setShown(f.hint, f.note)
	} else {
		setShown(f.hint, why)
	}
}

func (e *settingsEditor) doSave() {
	c, errs := e.candidate()
	if len(errs) > 0 || c.Validate() != nil {
		e.validate()
		return
	}
	e.saving = true
	e.save.Disable()
	running := e.running.Visible()
	e.g.model.do(e.g.ctx, func(ctx context.Context) error {
		_, err := e.g.deps.Library.EditIfUnchanged(ctx, e.name, e.rev, func(dst *vm.Config) error {
			*dst = *c
			return nil
		})
		return err
	}, func(err error) {
		e.saving = false
		if errors.Is(err, vm.ErrConfigChanged) {
			e.offerReload(c)
			e.save.Enable()
			return
		}
		if err != nil {
			setShown(e.problem, "Not saved: "+err.Error())
			e.save.Enable()
			return
		}
		e.win.Close()
		if running {
			dialog.ShowInformation("Saved for the next start",
				fmt.Sprintf("“%s” keeps its current settings while it runs, and uses the new ones the next time it starts.", e.name), e.g.lib.win)
		}
	})
}
