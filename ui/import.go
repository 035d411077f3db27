package ui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/importer"
)

// kindImport is the wizard's "Import a VM…": a VM from UTM, Tart or
// VirtualBuddy, or a disk image.
const kindImport = "import"

// Importer brings VMs made by other tools, and disk images, into the
// library without touching the source. *importer.Importer is one.
type Importer interface {
	// Plan reads the source and says what the import will make.
	Plan(ctx context.Context, path string, opts importer.Options) (*importer.Plan, error)
	// Make builds the planned VM (in a temporary folder, renamed into place).
	Make(ctx context.Context, p *importer.Plan, progress vm.Progress) (*importer.Result, error)
	// ImportDisk brings a disk image of any format into dst as a raw image.
	ImportDisk(ctx context.Context, src, dst string, progress vm.Progress) (importer.CopyMethod, int64, error)
	// DiskSize is the size of the disk an image holds.
	DiskSize(ctx context.Context, path string) (vm.Size, error)
}

var _ Importer = (*importer.Importer)(nil)

// importDisk brings a disk image into a VM being created: through the
// importer when there is one, else without conversion (a raw image only).
func (g *GUI) importDisk(ctx context.Context, src, dst string, progress vm.Progress) (int64, error) {
	if g.deps.Importer != nil {
		_, size, err := g.deps.Importer.ImportDisk(ctx, src, dst, progress)
		return size, err
	}
	_, size, err := importer.ImportDisk(ctx, nil, src, dst, progress)
	return size, err
}

func (g *GUI) diskSize(ctx context.Context, path string) (vm.Size, error) {
	if g.deps.Importer != nil {
		return g.deps.Importer.DiskSize(ctx, path)
	}
	return importer.DiskSize(ctx, nil, path)
}

// importSource is the wizard's import step: the source, a preview of what
// the import makes, and what it cannot bring over.
type importSource struct {
	path       *wizField
	keepMAC    *widget.Check
	preview    *fyne.Container
	notBrought *widget.Label

	plan    *importer.Plan
	planErr error
	planFor string // the path and options the plan was made for
}

// importUnavailable says why importing is not offered, or "" when it is.
func (g *GUI) importUnavailable() string {
	if g.deps.Importer == nil {
		return "Importing is not available in this build of Vivarium."
	}
	return ""
}

func (w *wizard) importSourcePage() fyne.CanvasObject {
	s := w.imp
	if s.keepMAC == nil {
		s.keepMAC = widget.NewCheck("Keep its MAC address (then do not run both at once)", func(bool) { w.check() })
		s.preview = container.New(layout.NewFormLayout())
		s.notBrought = hintLabel("")
	}
	file := widget.NewButton("Choose File…", func() {
		pick(w.g, w.win, "A disk image or .ova", false, nil, s.path.entry.SetText)
	})
	folder := widget.NewButton("Choose Folder…", func() {
		pick(w.g, w.win, "A .utm, .vbvm or Tart VM folder", true, nil, s.path.entry.SetText)
	})
	return container.NewVBox(
		labelled("The VM or disk image", container.New(layout.NewCustomPaddedVBoxLayout(0),
			container.NewBorder(nil, nil, nil, container.NewHBox(file, folder), s.path.entry), s.path.error)),
		hintLabel("A UTM bundle (.utm), a Tart VM folder, a VirtualBuddy VM (.vbvm), or a disk image: raw, qcow2, VMDK, VDI, VHD, VHDX or .ova. You can also drop any of them on the library window. The original is never changed."),
		s.keepMAC,
		widget.NewSeparator(),
		s.preview,
		s.notBrought,
	)
}

// importPlan plans the import of the chosen source, again only when the
// source or the options changed.
func (w *wizard) importPlan() (*importer.Plan, error) {
	s := w.imp
	path := strings.TrimSpace(s.path.entry.Text)
	keep := s.keepMAC != nil && s.keepMAC.Checked
	key := fmt.Sprintf("%s\x00%v", path, keep)
	if key == s.planFor {
		return s.plan, s.planErr
	}
	s.planFor = key
	s.plan, s.planErr = nil, nil
	switch {
	case path == "":
		s.planErr = errors.New("choose the VM or disk image to import")
	case w.g.deps.Importer == nil:
		s.planErr = errors.New(w.g.importUnavailable())
	default:
		s.plan, s.planErr = w.g.deps.Importer.Plan(w.g.ctx, path, importer.Options{KeepMAC: keep})
		if s.plan != nil && s.planErr == nil {
			w.name.entry.SetText(s.plan.Config.Name)
			w.name.touched = false
		}
	}
	w.showImportPreview()
	return s.plan, s.planErr
}

func (w *wizard) showImportPreview() {
	s := w.imp
	if s.preview == nil {
		return
	}
	if s.plan == nil {
		summaryGrid(s.preview, nil)
		setShown(s.notBrought, "")
		return
	}
	c := s.plan.Config
	disks := make([]string, len(c.Disks))
	for i, d := range c.Disks {
		disks[i] = d.Size.Human()
	}
	summaryGrid(s.preview, []summaryRow{
		{"From", fmt.Sprintf("%s: %s", s.plan.Kind, displayPath(s.plan.Source))},
		{"Makes", fmt.Sprintf("%s on %s · %d CPUs · %s · boot %s · disks %s", osName(c.OS), backendName(c.Backend), c.CPUs, c.Memory.Human(), bootText(c), strings.Join(disks, ", "))},
	})
	setShown(s.notBrought, notBroughtText(s.plan))
}

// importRows describe what an import makes, for the preview and summary.
func importRows(p *importer.Plan) []summaryRow {
	c := p.Config
	disks := make([]string, len(c.Disks))
	for i, d := range c.Disks {
		disks[i] = fmt.Sprintf("%s (%s)", d.Size.Human(), filepath.Base(p.Disks[i].Path))
	}
	return []summaryRow{
		{"From", fmt.Sprintf("%s: %s", p.Kind, displayPath(p.Source))},
		{"Operating system", osName(c.OS)},
		{"Backend", backendName(c.Backend)},
		{"CPUs", fmt.Sprint(c.CPUs)},
		{"Memory", c.Memory.Human()},
		{"Boot", bootText(c)},
		{"Disks", strings.Join(disks, ", ")},
	}
}

// notBroughtText lists what an import leaves behind, and its notes.
func notBroughtText(p *importer.Plan) string {
	var b strings.Builder
	if len(p.NotBrought) > 0 {
		b.WriteString("Not brought over:\n")
		for _, nb := range p.NotBrought {
			b.WriteString("• " + nb + "\n")
		}
	}
	for _, n := range p.Notes {
		b.WriteString(n + "\n")
	}
	return strings.TrimSpace(b.String())
}

// importConfig is the VM the import would make under the name typed, and
// what is wrong with it.
func (w *wizard) importConfig() (*vm.Config, vm.FieldErrors) {
	var errs vm.FieldErrors
	p, err := w.importPlan()
	if err != nil {
		errs = append(errs, &vm.FieldError{Key: "import", Msg: err.Error()})
		c := vm.NewConfig(strings.TrimSpace(w.name.entry.Text), vm.OSLinux)
		return c, errs
	}
	c := *p.Config
	c.Name = strings.TrimSpace(w.name.entry.Text)
	var fes vm.FieldErrors
	if err := vm.ValidateName(c.Name); err != nil {
		errs = append(errs, &vm.FieldError{Key: "name", Msg: strings.TrimPrefix(err.Error(), vm.ErrInvalidName.Error()+" ")})
	} else if err := c.Validate(); errors.As(err, &fes) {
		errs = append(errs, fes...)
	}
	if w.g.model.has(c.Name) {
		errs = append(errs, &vm.FieldError{Key: "name", Msg: fmt.Sprintf("a VM called %q already exists; choose another name", c.Name)})
	}
	return &c, errs
}

// makeImport builds the planned VM under the name c has.
func (w *wizard) makeImport(ctx context.Context, c *vm.Config, report func(Progress)) (*importer.Result, error) {
	p := *w.imp.plan
	cfg := *p.Config
	cfg.Name = c.Name
	p.Config = &cfg
	report(Progress{Step: "Bringing the disks over…"})
	return w.g.deps.Importer.Make(ctx, &p, func(done, total int64) {
		report(Progress{Step: "Bringing the disks over…", Done: done, Total: total})
	})
}

// ImportDropped imports what was dropped on the library window: each .utm,
// .vbvm, Tart VM folder or disk image becomes a new VM, and a note says what
// came over and what did not.
func (g *GUI) ImportDropped(uris []fyne.URI) {
	if why := g.importUnavailable(); why != "" {
		g.showError(errors.New(why))
		return
	}
	for _, u := range uris {
		if u.Scheme() != "file" {
			g.showError(fmt.Errorf("%s is not a file on this computer; drop a VM or a disk image from Finder or the Files app", u))
			continue
		}
		g.importDroppedPath(u.Path())
	}
}

// importDroppedPath imports one dropped path, with a progress bar and a
// Cancel button while the disks come over.
func (g *GUI) importDroppedPath(path string) {
	ctx, cancel := context.WithCancel(g.ctx)
	status := widget.NewLabel("Reading " + displayPath(path) + "…")
	status.Wrapping = fyne.TextWrapWord
	bar := widget.NewProgressBar()
	d := dialog.NewCustom("Importing", "Cancel", container.NewVBox(status, bar), g.lib.win)
	d.SetOnClosed(cancel)
	d.Resize(fyne.NewSize(480, 160))
	d.Show()
	report := newProgressReporter(g.deps.Do, func(p Progress) {
		status.SetText(p.Step)
		if p.Total > 0 {
			bar.SetValue(float64(p.Done) / float64(p.Total))
		}
	})
	var res *importer.Result
	g.model.do(ctx, func(ctx context.Context) error {
		p, err := g.deps.Importer.Plan(ctx, path, importer.Options{})
		if err != nil {
			return err
		}
		step := fmt.Sprintf("Bringing “%s” over from %s…", p.Config.Name, p.Kind)
		report(Progress{Step: step})
		res, err = g.deps.Importer.Make(ctx, p, func(done, total int64) {
			report(Progress{Step: step, Done: done, Total: total})
		})
		return err
	}, func(err error) {
		d.Hide()
		switch {
		case errors.Is(err, context.Canceled):
			// The person cancelled: nothing was made, nothing to say.
		case err != nil:
			g.showError(err)
		default:
			g.lib.selected = res.Info.Name
			g.showImported(res)
		}
	})
}

// showImported tells the person what an import made and what it left.
func (g *GUI) showImported(res *importer.Result) {
	text := widget.NewLabel(fmt.Sprintf("“%s” came from %s: %s.", res.Info.Name, res.Plan.Kind, displayPath(res.Plan.Source)))
	text.Wrapping = fyne.TextWrapWord
	left := widget.NewLabel(notBroughtText(res.Plan))
	left.Wrapping = fyne.TextWrapWord
	if left.Text == "" {
		left.SetText("Everything was brought over.")
	}
	d := dialog.NewCustom("Imported “"+res.Info.Name+"”", "OK", container.NewVBox(text, left), g.lib.win)
	d.Resize(fyne.NewSize(560, 360))
	d.Show()
}
