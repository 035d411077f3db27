package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/importer"
	"github.com/vivarium-vm/vivarium/vm/ipsw"
)

// What the wizard can make a VM from.
const (
	kindMacOS  = "macos"
	kindISO    = "iso"
	kindKernel = "kernel"
	kindImage  = "image"
)

// Where a macOS guest's restore image comes from.
const (
	macLatest = "The latest macOS, downloaded from Apple"
	macFile   = "A restore image on this computer (.ipsw)"
	macURL    = "A restore image from a URL"
)

// Wizard steps.
const (
	stepChoose = iota
	stepSource
	stepHardware
	stepOptions
	stepName
	stepCreate
)

// wizField is an entry in the wizard with the line saying what is wrong
// with it. Errors show once the person has typed in it or tried to go on.
type wizField struct {
	label   string
	entry   *widget.Entry
	error   *widget.Label
	keys    []string
	touched bool
}

// wizard is the create window: what to run, where from, how big, what to
// share, a name, then the VM is made with a progress bar.
type wizard struct {
	g    *GUI
	win  fyne.Window
	kind string
	step int

	title    *widget.Label
	body     *fyne.Container
	problem  *widget.Label
	back     *widget.Button
	next     *widget.Button
	cancel   *widget.Button
	pages    map[int]fyne.CanvasObject
	fields   map[int][]*wizField
	creating context.CancelFunc

	// Source.
	macSource          *widget.RadioGroup
	macPath, macURL    *wizField
	iso                *wizField
	kernel, initrd     *wizField
	cmdline            *wizField
	image              *wizField
	imp                *importSource
	imageOS            *widget.Select
	backend            *widget.Select
	backendHint        *widget.Label
	cpus, memory, disk *wizField
	diskRow            []fyne.CanvasObject

	// Options.
	shares     []vm.Share
	sharesBox  *fyne.Container
	clipboard  *widget.Check
	rosetta    *widget.Check
	rosettaWhy *widget.Label
	disposable *widget.Check
	guestSetup *widget.Check // offer guest setup (Linux from an ISO)

	// Pull from a registry (oci.go).
	registry registryFields

	// Name and creation.
	name     *wizField
	summary  *fyne.Container
	bar      *widget.ProgressBar
	activity *widget.ProgressBarInfinite
	status   *widget.Label
}

// ShowCreateWizard opens the create wizard.
func (g *GUI) ShowCreateWizard() {
	if g.wizard != nil {
		g.wizard.win.RequestFocus()
		return
	}
	w := newWizard(g)
	g.wizard = w
	w.win.Show()
}

func newWizard(g *GUI) *wizard {
	w := &wizard{g: g, pages: map[int]fyne.CanvasObject{}, fields: map[int][]*wizField{}}
	w.win = g.app.NewWindow("Create a VM")
	w.win.SetIcon(AppIcon())
	w.title = heading("")
	w.body = container.NewStack()
	w.problem = errorLabel()
	w.back = widget.NewButtonWithIcon("Back", theme.NavigateBackIcon(), w.goBack)
	w.next = widget.NewButton("Continue", w.goNext)
	w.next.Importance = widget.HighImportance
	w.cancel = widget.NewButton("Cancel", w.doCancel)
	nav := container.NewBorder(nil, nil, w.cancel, container.NewHBox(w.back, w.next), w.problem)
	w.win.SetContent(container.New(layout.NewCustomPaddedLayout(8, 8, 16, 16),
		container.NewBorder(container.NewVBox(w.title, widget.NewSeparator()), container.NewVBox(widget.NewSeparator(), nav), nil, nil, w.body)))
	w.win.Resize(fyne.NewSize(720, 560))
	w.win.SetOnClosed(func() {
		if w.creating != nil {
			w.creating()
		}
		g.wizard = nil
	})
	w.win.Canvas().SetOnTypedKey(func(ev *fyne.KeyEvent) {
		if ev.Name == fyne.KeyEscape {
			w.doCancel()
		}
	})
	w.build()
	w.show(stepChoose)
	return w
}

func (w *wizard) newField(step int, label, placeholder string, keys ...string) *wizField {
	f := &wizField{label: label, entry: widget.NewEntry(), error: errorLabel(), keys: keys}
	f.entry.SetPlaceHolder(placeholder)
	f.entry.OnChanged = func(string) { f.touched = true; w.check() }
	f.entry.OnSubmitted = func(string) { w.goNext() }
	w.fields[step] = append(w.fields[step], f)
	return f
}

// pathRow is a field with a Browse… button.
func (w *wizard) pathRow(f *wizField, title string, exts []string, folder bool) fyne.CanvasObject {
	browse := widget.NewButton("Browse…", func() { pick(w.g, w.win, title, folder, exts, f.entry.SetText) })
	return container.New(layout.NewCustomPaddedVBoxLayout(0), container.NewBorder(nil, nil, nil, browse, f.entry), f.error)
}

func labelled(label string, content fyne.CanvasObject) fyne.CanvasObject {
	return container.New(layout.NewCustomPaddedVBoxLayout(2), widget.NewLabelWithStyle(label, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), content)
}

func (w *wizard) build() {
	w.macPath = w.newField(stepSource, "The restore image", "/path/to/UniversalMac_Restore.ipsw", "source")
	w.macURL = w.newField(stepSource, "The URL", "https://updates.cdn-apple.com/…/UniversalMac_Restore.ipsw", "source")
	w.iso = w.newField(stepSource, "The ISO", "/path/to/installer.iso", "boot.iso")
	w.kernel = w.newField(stepSource, "The kernel", "/path/to/vmlinuz", "boot.kernel")
	w.initrd = w.newField(stepSource, "The initrd", "/path/to/initrd.img (optional)", "boot.initrd")
	w.cmdline = w.newField(stepSource, "The command line", "console=hvc0 root=/dev/vda", "boot.cmdline")
	w.image = w.newField(stepSource, "The image", "/path/to/disk.img", "image")
	w.imp = &importSource{path: w.newField(stepSource, "The source", "/path/to/VM.utm, a .vbvm, a Tart VM folder or a disk image", "import")}
	w.cpus = w.newField(stepHardware, "CPUs", "", "cpus")
	w.cpus.entry.SetText(strconv.Itoa(vm.DefaultCPUs))
	w.memory = w.newField(stepHardware, "Memory", "", "memory")
	w.memory.entry.SetText(vm.DefaultMem.String())
	w.disk = w.newField(stepHardware, "The disk size", "", "disks", "disks[0].size", "disks[0].file")
	w.disk.entry.SetText(vm.DefaultDisk.String())
	w.name = w.newField(stepName, "The name", "", "name")
	w.buildRegistry()
	for _, f := range []*wizField{w.cpus, w.memory, w.disk} {
		f.touched = false
	}
	w.pages[stepChoose] = w.choosePage()
	w.pages[stepHardware] = w.hardwarePage()
	w.pages[stepOptions] = w.optionsPage()
	w.pages[stepName] = w.namePage()
	w.pages[stepCreate] = w.createPage()
}

func (w *wizard) choosePage() fyne.CanvasObject {
	mac := newChoiceCard(osIconView(vm.OSMacOS, 48, 48), "macOS", "The latest release, a beta, or a restore image you have. Needs a Mac with Apple silicon.", func() { w.choose(kindMacOS) })
	probe := vm.NewConfig("probe", vm.OSMacOS)
	if why := w.g.deps.Host.Unavailable(probe, FeatureMacOSGuest); why != "" {
		mac.disable(why)
	} else if w.g.deps.Installer == nil {
		mac.disable("Installing macOS is not available in this build of Vivarium.")
	}
	linux := newChoiceCard(osIconView(vm.OSLinux, 48, 48), "Linux from an installer ISO", "Boot a distribution's installer (Ubuntu, Fedora, Debian…) with EFI and install it onto a new disk.", func() { w.choose(kindISO) })
	kernel := newChoiceCard(osIconView(vm.OSLinux, 48, 48), "Linux from a kernel and initrd", "Boot a kernel directly, for lightweight or custom guests.", func() { w.choose(kindKernel) })
	image := newChoiceCard(osIconView(vm.OSOther, 48, 48), "An existing disk image", "Copy or convert a disk image into a new VM and boot it with EFI.", func() { w.choose(kindImage) })
	imp := newChoiceCard(osIconView(vm.OSOther, 48, 48), "Import a VM…", "From UTM, Tart, VirtualBuddy, or a disk image (.qcow2, .vmdk, .ova…).", func() { w.choose(kindImport) })
	if why := w.g.importUnavailable(); why != "" {
		imp.disable(why)
	}
	return container.NewVBox(mac, linux, kernel, image, imp, w.registryCard())
}

func (w *wizard) choose(kind string) {
	w.kind = kind
	w.pages[stepSource] = w.sourcePage()
	w.show(stepSource)
}

func (w *wizard) sourcePage() fyne.CanvasObject {
	switch w.kind {
	case kindMacOS:
		if w.macSource == nil {
			w.macSource = widget.NewRadioGroup([]string{macLatest, macFile, macURL}, func(string) { w.check() })
			w.macSource.SetSelected(macLatest)
			w.macSource.Required = true
		}
		return container.NewVBox(
			hintLabel("Vivarium downloads the image (resuming if interrupted), then installs macOS into the new VM. This takes a while; you can cancel it."),
			w.macSource,
			labelled("Restore image file", w.pathRow(w.macPath, "Restore image", []string{".ipsw"}, false)),
			labelled("Restore image URL", container.NewVBox(w.macURL.entry, w.macURL.error)),
		)
	case kindISO:
		return container.NewVBox(
			labelled("Installer ISO", w.pathRow(w.iso, "Installer ISO", []string{".iso"}, false)),
			hintLabel("The VM boots the ISO with EFI. Once the guest is installed, remove the ISO in Settings › Boot."),
		)
	case kindImport:
		return w.importSourcePage()
	case kindRegistry:
		return w.registrySourcePage()
	case kindKernel:
		return container.NewVBox(
			labelled("Kernel", w.pathRow(w.kernel, "Kernel", nil, false)),
			labelled("Initial RAM disk", w.pathRow(w.initrd, "Initrd", nil, false)),
			labelled("Kernel command line", container.NewVBox(w.cmdline.entry, w.cmdline.error)),
			hintLabel("For a Linux image that expects an uncompressed kernel, give the uncompressed one (vmlinux)."),
		)
	default:
		if w.imageOS == nil {
			w.imageOS = widget.NewSelect([]string{osName(vm.OSLinux), osName(vm.OSOther)}, func(string) { w.check() })
			w.imageOS.SetSelected(osName(vm.OSLinux))
		}
		return container.NewVBox(
			labelled("Disk image", w.pathRow(w.image, "Disk image", []string{".img", ".raw", ".qcow2", ".vmdk", ".vdi", ".vhd", ".vhdx"}, false)),
			labelled("Operating system on it", w.imageOS),
			hintLabel("The image is copied into the VM (copy-on-write where the disk allows), or converted when it is not raw; the original is never changed."),
		)
	}
}

func (w *wizard) hardwarePage() fyne.CanvasObject {
	w.backendHint = hintLabel("")
	w.backend = widget.NewSelect([]string{backendName(vm.BackendVZ), backendName(vm.BackendQEMU)}, nil)
	w.backend.SetSelected(backendName(w.g.defaultBackend()))
	w.backend.OnChanged = func(string) { w.check() }
	w.diskRow = []fyne.CanvasObject{
		widget.NewLabelWithStyle("Disk size", fyne.TextAlignTrailing, fyne.TextStyle{}),
		container.NewVBox(w.disk.entry, hintLabel("The disk takes space only as the guest fills it."), w.disk.error),
	}
	row := func(label string, f *wizField, hint string) []fyne.CanvasObject {
		return []fyne.CanvasObject{
			widget.NewLabelWithStyle(label, fyne.TextAlignTrailing, fyne.TextStyle{}),
			container.NewVBox(f.entry, hintLabel(hint), f.error),
		}
	}
	grid := container.New(layout.NewFormLayout())
	grid.Objects = append(grid.Objects, row("CPUs", w.cpus, fmt.Sprintf("This computer has %d.", runtime.NumCPU()))...)
	grid.Objects = append(grid.Objects, row("Memory", w.memory, "With a unit, like 4GiB or 8GiB.")...)
	grid.Objects = append(grid.Objects, w.diskRow...)
	grid.Objects = append(grid.Objects,
		widget.NewLabelWithStyle("Backend", fyne.TextAlignTrailing, fyne.TextStyle{}),
		container.NewVBox(w.backend, w.backendHint))
	return grid
}

func (w *wizard) optionsPage() fyne.CanvasObject {
	w.sharesBox = container.NewVBox()
	add := widget.NewButtonWithIcon("Add Folder…", theme.ContentAddIcon(), func() {
		pick(w.g, w.win, "Share a folder", true, nil, func(path string) {
			w.shares = append(w.shares, vm.Share{Path: path})
			w.showShares()
		})
	})
	w.rosettaWhy = hintLabel("")
	w.clipboard = widget.NewCheck("Share the clipboard with the guest", nil)
	w.clipboard.SetChecked(true)
	w.rosetta = widget.NewCheck("Run x86_64 Linux programs with Rosetta", nil)
	w.disposable = widget.NewCheck("Disposable: every run starts fresh and forgets its changes", nil)
	for _, c := range []*widget.Check{w.clipboard, w.rosetta, w.disposable} {
		c.OnChanged = func(bool) { w.check() }
	}
	w.showShares()
	return container.NewVBox(
		labelled("Shared folders", container.NewVBox(w.sharesBox, container.NewHBox(add))),
		widget.NewSeparator(),
		w.clipboard,
		container.NewVBox(w.rosetta, w.rosettaWhy),
		w.disposable,
		w.newGuestSetupCheck(),
	)
}

func (w *wizard) showShares() {
	w.sharesBox.Objects = nil
	if len(w.shares) == 0 {
		w.sharesBox.Add(hintLabel("None yet. The guest can open the folders you add here."))
	}
	for i, s := range w.shares {
		ro := widget.NewCheck("Read-only", func(on bool) { w.shares[i].ReadOnly = on })
		ro.SetChecked(s.ReadOnly)
		remove := widget.NewButtonWithIcon("", theme.ContentRemoveIcon(), func() {
			w.shares = slices.Delete(w.shares, i, i+1)
			w.showShares()
		})
		remove.Importance = widget.LowImportance
		path := widget.NewLabel(displayPath(s.Path))
		path.Truncation = fyne.TextTruncateEllipsis
		w.sharesBox.Add(container.NewBorder(nil, nil, nil, container.NewHBox(ro, remove), path))
	}
	w.sharesBox.Refresh()
	w.check()
}

func (w *wizard) namePage() fyne.CanvasObject {
	w.summary = container.New(layout.NewFormLayout())
	return container.NewVBox(
		labelled("Name", container.NewVBox(w.name.entry, w.name.error)),
		widget.NewSeparator(),
		w.summary,
	)
}

func (w *wizard) createPage() fyne.CanvasObject {
	w.bar = widget.NewProgressBar()
	w.activity = widget.NewProgressBarInfinite()
	w.activity.Stop()
	w.activity.Hide()
	w.status = widget.NewLabel("")
	w.status.Wrapping = fyne.TextWrapWord
	return container.NewVBox(layout.NewSpacer(), container.NewStack(w.bar, w.activity), w.status, layout.NewSpacer())
}

var stepTitles = map[int]string{
	stepChoose:   "What would you like to run?",
	stepHardware: "Processor, memory and disk",
	stepOptions:  "Sharing and options",
	stepName:     "Name your VM",
	stepCreate:   "Creating your VM",
}

func (w *wizard) sourceTitle() string {
	switch w.kind {
	case kindMacOS:
		return "Which macOS?"
	case kindISO:
		return "Choose the installer"
	case kindKernel:
		return "Choose the kernel"
	case kindImport:
		return "Import a VM"
	case kindRegistry:
		return "Which image?"
	}
	return "Choose the disk image"
}

func (w *wizard) show(step int) {
	w.step = step
	title := stepTitles[step]
	if step == stepSource {
		title = w.sourceTitle()
	}
	w.title.SetText(title)
	if step == stepName && w.name.entry.Text == "" {
		base := osName(w.guestOS())
		if w.kind == kindISO || w.kind == kindKernel {
			base = "Linux"
		}
		name := uniqueName(base, w.g.model.has)
		if w.kind == kindRegistry {
			name = w.registryName()
		}
		w.name.entry.SetText(name)
		w.name.touched = false
	}
	if step == stepHardware {
		for _, o := range w.diskRow {
			if w.kind == kindImage {
				o.Hide()
			} else {
				o.Show()
			}
		}
	}
	w.body.Objects = []fyne.CanvasObject{container.NewVScroll(container.NewPadded(w.pages[step]))}
	w.body.Refresh()
	switch step {
	case stepChoose:
		w.back.Hide()
		w.next.Hide()
	case stepCreate:
		w.back.Hide()
		w.next.Hide()
	default:
		w.back.Show()
		w.next.Show()
	}
	if step == stepName {
		w.next.SetText("Create")
		w.next.SetIcon(theme.ConfirmIcon())
	} else {
		w.next.SetText("Continue")
		w.next.SetIcon(nil)
	}
	w.check()
	if fs := w.fields[step]; len(fs) > 0 && step != stepSource {
		w.win.Canvas().Focus(fs[0].entry)
	}
	if step == stepSource && w.kind == kindRegistry {
		w.win.Canvas().Focus(w.registry.ref.entry)
	}
}

func (w *wizard) goBack() {
	switch {
	case w.step == stepSource:
		w.show(stepChoose)
	case w.kind == kindImport && w.step == stepName:
		w.show(stepSource) // an import keeps the source's hardware and options
	case w.step == stepName && w.kind == kindRegistry:
		w.show(stepSource) // a pull takes its hardware from the image
	case w.step > stepSource && w.step < stepCreate:
		w.show(w.step - 1)
	}
}

func (w *wizard) goNext() {
	if w.step == stepChoose || w.step == stepCreate {
		return
	}
	for _, f := range w.fields[w.step] {
		f.touched = true
	}
	if !w.check() {
		return
	}
	if w.step == stepName {
		w.create()
		return
	}
	if w.step == stepSource && (w.kind == kindImport || w.kind == kindRegistry) {
		w.show(stepName)
		return
	}
	w.show(w.step + 1)
}

func (w *wizard) doCancel() {
	if w.creating != nil {
		w.creating()
		return
	}
	w.win.Close()
}

func (w *wizard) guestOS() string {
	switch w.kind {
	case kindMacOS:
		return vm.OSMacOS
	case kindImage:
		if w.imageOS != nil && w.imageOS.Selected == osName(vm.OSOther) {
			return vm.OSOther
		}
	}
	return vm.OSLinux
}

// macOSSource is the restore image as the installer takes it.
func (w *wizard) macOSSource() string {
	switch w.macSource.Selected {
	case macFile:
		return strings.TrimSpace(w.macPath.entry.Text)
	case macURL:
		return strings.TrimSpace(w.macURL.entry.Text)
	}
	return ipsw.SourceLatestName
}

// config is the VM the wizard would create now, and what is wrong with it
// (keyed by config key, or "source" and "image" for the wizard's own).
func (w *wizard) config() (*vm.Config, vm.FieldErrors) {
	var errs vm.FieldErrors
	add := func(key string, err error) {
		if err != nil {
			errs = append(errs, &vm.FieldError{Key: key, Msg: err.Error()})
		}
	}
	if w.kind == kindImport {
		return w.importConfig()
	}
	c := vm.NewConfig(strings.TrimSpace(w.name.entry.Text), w.guestOS())
	if c.Name == "" {
		c.Name = w.name.entry.Text
	}
	if w.kind != kindMacOS && w.backend != nil {
		c.Backend = vm.BackendQEMU
		if w.backend.Selected == backendName(vm.BackendVZ) {
			c.Backend = vm.BackendVZ
		}
	}
	cpus, err := strconv.Atoi(strings.TrimSpace(w.cpus.entry.Text))
	if err != nil {
		add("cpus", fmt.Errorf("%q is not a whole number", w.cpus.entry.Text))
		cpus = c.CPUs
	}
	mem, err := vm.ParseSize(w.memory.entry.Text)
	add("memory", err)
	if err != nil {
		mem = c.Memory
	}
	size, err := vm.ParseSize(w.disk.entry.Text)
	if w.kind != kindImage {
		add("disks[0].size", err)
	}
	switch w.kind {
	case kindMacOS:
		if w.macSource != nil {
			src := w.macOSSource()
			if src == "" {
				add("source", errors.New("is empty; give the restore image"))
			} else if _, err := ipsw.Resolve(src); err != nil {
				add("source", err)
			}
		}
	case kindISO:
		c.Boot.Mode = vm.BootEFI
		c.Boot.ISO = strings.TrimSpace(w.iso.entry.Text)
		if c.Boot.ISO == "" {
			add("boot.iso", errors.New("choose the installer ISO"))
		}
	case kindRegistry:
		add("source", w.registryProblem())
	case kindKernel:
		c.Boot.Mode = vm.BootLinux
		c.Boot.Kernel = strings.TrimSpace(w.kernel.entry.Text)
		c.Boot.Initrd = strings.TrimSpace(w.initrd.entry.Text)
		c.Boot.Cmdline = strings.TrimSpace(w.cmdline.entry.Text)
	case kindImage:
		c.Boot.Mode = vm.BootEFI
		path := strings.TrimSpace(w.image.entry.Text)
		st, err := os.Stat(path)
		switch {
		case path == "":
			add("image", errors.New("choose the disk image"))
		case err != nil:
			add("image", fmt.Errorf("%s: cannot be read: %w", path, errors.Unwrap(err)))
		case !st.Mode().IsRegular():
			add("image", fmt.Errorf("%s is not a file; choose the disk image itself", path))
		default:
			// The disk's size, from the image's header: a qcow2's file is smaller.
			size, err = w.g.diskSize(w.g.ctx, path)
			add("image", err)
		}
	}
	if size == 0 && w.kind == kindImage {
		size = vm.DefaultDisk // until the image is chosen; keeps other errors readable
	}
	c.Disks = []vm.Disk{{File: vm.DiskFileName(0), Size: size}}
	if w.clipboard != nil {
		c.Shares = slices.Clone(w.shares)
		c.Clipboard = w.clipboard.Checked
		c.Rosetta = w.rosetta.Checked && c.OS == vm.OSLinux
		c.Disposable = w.disposable.Checked
	}
	c.FillDefaults()
	// Set after the defaults, so that a 0 typed is refused, not replaced.
	c.CPUs, c.Memory = cpus, mem
	var fes vm.FieldErrors
	if err := c.Validate(); errors.As(err, &fes) {
		errs = append(errs, fes...)
	}
	if errors.As(c.CheckPaths(), &fes) {
		errs = append(errs, fes...)
	}
	if w.g.model.has(c.Name) {
		add("name", fmt.Errorf("a VM called %q already exists; choose another name", c.Name))
	}
	return c, errs
}

// check shows what is wrong on the current step and lets the person go on
// only when nothing is. It reports whether they may.
func (w *wizard) check() bool {
	if w.name == nil || w.cpus == nil {
		return false // still building
	}
	c, errs := w.config()
	w.updateOptions(c)
	if w.step == stepName {
		summaryGrid(w.summary, wizardSummary(c, w))
	}
	ok := true
	for step, fields := range w.fields {
		for _, f := range fields {
			var msgs []string
			for _, k := range f.keys {
				if fe := errs.For(k); fe != nil {
					msgs = append(msgs, fieldSentence(f.label, fe.Msg))
				}
			}
			if step == stepSource && !w.sourceFieldInUse(f) {
				msgs = nil
			}
			if step == stepHardware && f == w.disk && w.kind == kindImage {
				msgs = nil
			}
			if step == w.step && len(msgs) > 0 {
				ok = false
			}
			// An empty field nobody has typed in yet is not scolded; its
			// placeholder says what it wants, and Continue waits.
			setShown(f.error, onOff(f.touched || f.entry.Text != "", strings.Join(msgs, "\n"), ""))
		}
	}
	// Whatever the fields above do not show is said at the bottom, on the
	// last step, so nothing wrong is ever created silently.
	problem := ""
	if w.step == stepName && ok {
		for _, fe := range errs {
			if !w.shownKey(fe.Key) {
				problem = fe.Error()
				ok = false
				break
			}
		}
	}
	if w.step != stepCreate {
		setShown(w.problem, problem)
	}
	enableWidget(w.next, ok)
	return ok
}

// sourceFieldInUse reports whether f belongs to the chosen kind of source.
func (w *wizard) sourceFieldInUse(f *wizField) bool {
	switch w.kind {
	case kindMacOS:
		return (f == w.macPath && w.macSource.Selected == macFile) || (f == w.macURL && w.macSource.Selected == macURL)
	case kindISO:
		return f == w.iso
	case kindKernel:
		return f == w.kernel || f == w.initrd || f == w.cmdline
	case kindImage:
		return f == w.image
	case kindImport:
		return f == w.imp.path
	case kindRegistry:
		return f == w.registry.ref
	}
	return false
}

func (w *wizard) shownKey(key string) bool {
	for _, fields := range w.fields {
		for _, f := range fields {
			if slices.Contains(f.keys, key) && (w.fieldStep(f) != stepSource || w.sourceFieldInUse(f)) {
				return true
			}
		}
	}
	return false
}

func (w *wizard) fieldStep(f *wizField) int {
	for step, fields := range w.fields {
		if slices.Contains(fields, f) {
			return step
		}
	}
	return -1
}

// updateOptions greys out what the host cannot do for c, with its reason.
func (w *wizard) updateOptions(c *vm.Config) {
	if w.backend != nil {
		enableWidget(w.backend, w.kind != kindMacOS)
		feat := FeatureQEMU
		if c.Backend == vm.BackendVZ {
			feat = FeatureVZ
		}
		note := ""
		if w.kind == kindMacOS {
			note = "macOS guests run with Apple Virtualization."
		}
		if why := w.g.deps.Host.Unavailable(c, feat); why != "" {
			note = why
		}
		setShown(w.backendHint, note)
	}
	if w.rosetta == nil {
		return
	}
	w.updateGuestSetup(c)
	if c.OS == vm.OSLinux {
		w.rosetta.Show()
	} else {
		w.rosetta.Hide()
	}
	why := w.g.deps.Host.Unavailable(c, FeatureRosetta)
	if c.Backend != vm.BackendVZ && why == "" {
		why = "Rosetta needs Apple Virtualization on a Mac with Apple silicon."
	}
	if why != "" && w.rosetta.Checked {
		w.rosetta.SetChecked(false)
	}
	enableWidget(w.rosetta, why == "")
	setShown(w.rosettaWhy, onOff(c.OS == vm.OSLinux, why, ""))
	for _, opt := range []struct {
		check *widget.Check
		f     Feature
	}{{w.clipboard, FeatureClipboard}, {w.disposable, FeatureDisposable}} {
		off := w.g.deps.Host.Unavailable(c, opt.f) != ""
		if off && opt.check.Checked {
			opt.check.SetChecked(false)
		}
		enableWidget(opt.check, !off)
	}
}

func wizardSummary(c *vm.Config, w *wizard) []summaryRow {
	if w.kind == kindImport && w.imp.plan != nil {
		return append(importRows(w.imp.plan), summaryRow{"Not brought over", fmt.Sprintf("%d things (see the previous step)", len(w.imp.plan.NotBrought))})
	}
	if w.kind == kindRegistry {
		return registrySummary(w)
	}
	rows := []summaryRow{
		{"Operating system", osName(c.OS)},
		{"Backend", backendName(c.Backend)},
		{"CPUs", fmt.Sprint(c.CPUs)},
		{"Memory", c.Memory.Human()},
	}
	switch w.kind {
	case kindMacOS:
		src := w.macOSSource()
		if src == ipsw.SourceLatestName {
			src = "the latest, from Apple"
		}
		rows = append(rows, summaryRow{"macOS", src}, summaryRow{"Disk", c.Disks[0].Size.Human()})
	case kindImage:
		rows = append(rows, summaryRow{"Disk", "a copy of " + strings.TrimSpace(w.image.entry.Text)})
	default:
		rows = append(rows, summaryRow{"Boot", bootText(c)}, summaryRow{"Disk", c.Disks[0].Size.Human() + ", empty"})
	}
	rows = append(rows, summaryRow{"Shared folders", sharesText(c.Shares)})
	var extras []string
	if c.Clipboard {
		extras = append(extras, "shared clipboard")
	}
	if c.Rosetta {
		extras = append(extras, "Rosetta")
	}
	if c.Disposable {
		extras = append(extras, "disposable")
	}
	if len(extras) > 0 {
		rows = append(rows, summaryRow{"With", strings.Join(extras, ", ")})
	}
	return rows
}

// create makes the VM off the UI goroutine, with progress and Cancel.
func (w *wizard) create() {
	c, errs := w.config()
	if len(errs) > 0 {
		w.check()
		return
	}
	ctx, cancel := context.WithCancel(w.g.ctx)
	w.creating = cancel
	w.show(stepCreate)
	w.cancel.SetText("Cancel")
	w.bar.Hide()
	w.bar.SetValue(0)
	w.activity.Show()
	w.activity.Start()
	w.status.SetText(fmt.Sprintf("Creating “%s”…", c.Name))

	report := newProgressReporter(w.g.deps.Do, func(p Progress) {
		if p.Step != "" {
			w.status.SetText(p.Step)
		}
		if p.Total > 0 {
			w.activity.Stop()
			w.activity.Hide()
			w.bar.Show()
			w.bar.SetValue(float64(p.Done) / float64(p.Total))
		}
	})
	opts := vm.CreateOptions{Prepare: w.prepare(report)}
	var imported *importer.Result
	w.g.model.do(ctx, func(ctx context.Context) error {
		if w.kind == kindImport {
			var err error
			imported, err = w.makeImport(ctx, c, report)
			return err
		}
		if w.kind == kindRegistry {
			return w.pullImage(ctx, c.Name, report)
		}
		_, err := w.g.deps.Library.Create(ctx, c, opts)
		return err
	}, func(err error) {
		cancel()
		w.creating = nil
		w.activity.Stop()
		switch {
		case err == nil:
			w.g.lib.selected = c.Name
			w.win.Close()
			if imported != nil {
				w.g.showImported(imported)
			}
			w.offerGuestSetup(c)
			return
		case errors.Is(err, context.Canceled):
			w.show(stepName)
			setShown(w.problem, "Cancelled: nothing was created.")
		default:
			w.show(stepName)
			setShown(w.problem, "Not created: "+err.Error())
		}
	})
}

// prepare is the work done inside the new VM's folder before it appears.
func (w *wizard) prepare(report func(Progress)) func(ctx context.Context, tmp vm.Bundle, c *vm.Config) error {
	switch w.kind {
	case kindMacOS:
		inst, src := w.g.deps.Installer, w.macOSSource()
		return func(ctx context.Context, tmp vm.Bundle, c *vm.Config) error {
			return inst.InstallMacOS(ctx, tmp, c, src, report)
		}
	case kindImage:
		src := strings.TrimSpace(w.image.entry.Text)
		return func(ctx context.Context, tmp vm.Bundle, c *vm.Config) error {
			dst := tmp.DiskPath(c.Disks[0].File)
			// Create made an empty disk of the image's size; the copy replaces it.
			if err := os.Remove(dst); err != nil {
				return err
			}
			report(Progress{Step: "Copying the disk image…"})
			size, err := w.g.importDisk(ctx, src, dst, func(done, total int64) {
				report(Progress{Step: "Copying the disk image…", Done: done, Total: total})
			})
			c.Disks[0].Size = vm.Size(size)
			return err
		}
	}
	return nil
}

// newProgressReporter hands progress to show on the UI goroutine, at most
// every tenth of a second and whenever the step changes, so a fast copy
// does not flood the UI.
func newProgressReporter(do func(func()), show func(Progress)) func(Progress) {
	var mu sync.Mutex
	var last time.Time
	var lastStep string
	return func(p Progress) {
		mu.Lock()
		now := time.Now()
		due := p.Step != lastStep || now.Sub(last) >= 100*time.Millisecond || (p.Total > 0 && p.Done >= p.Total)
		if due {
			last, lastStep = now, p.Step
		}
		mu.Unlock()
		if due {
			do(func() { show(p) })
		}
	}
}
