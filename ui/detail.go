package ui

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/vivarium-vm/vivarium/vm"
)

// maxMacOSGuests is how many macOS guests Apple lets run at once.
const maxMacOSGuests = 2

// newDetail is the right-hand pane for one VM: what it is, what it is
// doing, and what can be done with it now.
func newDetail(g *GUI, it *vmItem) fyne.CanvasObject {
	info := it.info
	icon := osIconView(guestOS(info), 64, 64)
	name := widget.NewLabelWithStyle(info.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	name.SizeName = theme.SizeNameHeadingText
	name.Truncation = fyne.TextTruncateEllipsis
	sub := widget.NewLabel(rowSubtitle(info))
	sub.Importance = widget.LowImportance
	header := container.NewBorder(nil, nil, icon, container.NewCenter(newBadge(info.State)),
		container.NewVBox(layout.NewSpacer(), container.New(layout.NewCustomPaddedVBoxLayout(-8), name, sub), layout.NewSpacer()))

	parts := []fyne.CanvasObject{header}
	if run := runButtons(g, it); len(run) > 0 {
		parts = append(parts, container.NewHBox(run...))
	}
	if note := runNote(it); note != "" {
		parts = append(parts, hintLabel(note))
	}
	parts = append(parts, container.NewHBox(manageButtons(g, it)...), widget.NewSeparator())
	if info.Config == nil || info.State == vm.StateBroken {
		parts = append(parts, brokenCard(info))
	}
	if it.thumb != nil {
		shot := canvas.NewImageFromResource(it.thumb)
		shot.FillMode = canvas.ImageFillContain
		shot.CornerRadius = 6
		shot.SetMinSize(fyne.NewSize(400, 225))
		parts = append(parts, container.NewCenter(shot))
	} else if info.Config != nil {
		if why := g.deps.Host.Unavailable(info.Config, FeatureThumbnail); why != "" {
			parts = append(parts, hintLabel(why))
		}
	}
	if rows := summary(info); len(rows) > 0 {
		parts = append(parts, summaryGrid(container.New(layout.NewFormLayout()), rows))
	}
	parts = append(parts, snapshotsSection(g, it))
	return container.NewVScroll(container.New(layout.NewCustomPaddedLayout(16, 16, 20, 20), container.NewVBox(parts...)))
}

// summaryGrid fills grid (a form layout) with rows: quiet labels on the
// left, values on the right.
func summaryGrid(grid *fyne.Container, rows []summaryRow) *fyne.Container {
	grid.Objects = nil
	for _, r := range rows {
		label := widget.NewLabelWithStyle(r.label, fyne.TextAlignTrailing, fyne.TextStyle{})
		label.Importance = widget.LowImportance
		value := widget.NewLabel(r.value)
		value.Wrapping = fyne.TextWrapWord
		grid.Add(label)
		grid.Add(value)
	}
	grid.Refresh()
	return grid
}

// brokenCard says why a VM cannot be used, and how to mend it.
func brokenCard(info *vm.Info) fyne.CanvasObject {
	bg := canvas.NewRectangle(color.NRGBA{0xd6, 0x3c, 0x3c, 0x22})
	bg.CornerRadius = 8
	title := widget.NewLabelWithStyle("This VM cannot be used", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	why := widget.NewLabel(info.Error)
	why.Wrapping = fyne.TextWrapWord
	why.Importance = widget.DangerImportance
	fix := hintLabel("Fix config.toml in the VM's folder (Show in Files), or delete the VM. The library updates as soon as the file changes.")
	return container.NewStack(bg, container.NewPadded(container.NewVBox(title, why, fix)))
}

// runNote explains a run action that is under way.
func runNote(it *vmItem) string {
	switch {
	case it.stopRequested:
		return "Asked the guest to shut down. If it does not, use Force Stop."
	case it.info.State == vm.StateSuspended:
		return "Suspended: Start resumes it where it was."
	case it.info.Config != nil && it.info.Config.Disposable && !it.info.State.Active():
		return "Disposable: every run starts from the disks as they are now, and forgets its changes."
	}
	return ""
}

func button(label string, icon fyne.Resource, imp widget.Importance, tapped func()) *widget.Button {
	b := widget.NewButtonWithIcon(label, icon, tapped)
	b.Importance = imp
	return b
}

// runButtons are the actions the VM's state allows.
func runButtons(g *GUI, it *vmItem) []fyne.CanvasObject {
	info := it.info
	if info.Config == nil || info.State == vm.StateBroken {
		return nil
	}
	name := info.Name
	stop := button("Stop", theme.MediaStopIcon(), widget.MediumImportance, func() { g.stopVM(name) })
	if it.stopRequested || info.State == vm.StateStopping {
		stop.SetText("Force Stop…")
		stop.Importance = widget.DangerImportance
	}
	suspend := func() []fyne.CanvasObject {
		if g.deps.Host.Unavailable(info.Config, FeatureSuspend) != "" {
			return nil
		}
		return []fyne.CanvasObject{button("Suspend", theme.DownloadIcon(), widget.MediumImportance, func() {
			g.act(name, func(ctx context.Context) error { return g.deps.Controller.Suspend(ctx, name) })
		})}
	}
	switch info.State {
	case vm.StateStopped, vm.StateSuspended:
		start := button("Start", theme.MediaPlayIcon(), widget.HighImportance, func() { g.startVM(name, false) })
		if info.Config.Disposable {
			return []fyne.CanvasObject{start}
		}
		return []fyne.CanvasObject{start, button("Start Disposable", theme.MediaReplayIcon(), widget.MediumImportance, func() { g.startVM(name, true) })}
	case vm.StateStarting:
		starting := button("Starting…", theme.MediaPlayIcon(), widget.HighImportance, nil)
		starting.Disable()
		return []fyne.CanvasObject{starting, stop}
	case vm.StateRunning:
		pause := button("Pause", theme.MediaPauseIcon(), widget.MediumImportance, func() {
			g.act(name, func(ctx context.Context) error { return g.deps.Controller.Pause(ctx, name) })
		})
		return append(append([]fyne.CanvasObject{stop, pause}, suspend()...), showWindow(g, info)...)
	case vm.StatePaused:
		resume := button("Resume", theme.MediaPlayIcon(), widget.HighImportance, func() {
			g.act(name, func(ctx context.Context) error { return g.deps.Controller.Resume(ctx, name) })
		})
		return append(append([]fyne.CanvasObject{resume, stop}, suspend()...), showWindow(g, info)...)
	case vm.StateStopping:
		return []fyne.CanvasObject{stop}
	}
	return nil
}

// showWindow is the button that opens a running VM's window again (a
// SPICE window a person closed) or brings it to the front, where the host
// can.
func showWindow(g *GUI, info *vm.Info) []fyne.CanvasObject {
	if g.deps.Host.Unavailable(info.Config, FeatureShowWindow) != "" {
		return nil
	}
	name := info.Name
	return []fyne.CanvasObject{button("Show Window", theme.ComputerIcon(), widget.MediumImportance, func() {
		g.act(name, func(ctx context.Context) error { return g.deps.Controller.ShowWindow(ctx, name) })
	})}
}

// manageButtons change the VM itself; most need it stopped, and say so.
func manageButtons(g *GUI, it *vmItem) []fyne.CanvasObject {
	name := it.info.Name
	var out []fyne.CanvasObject
	if it.info.Config != nil {
		out = append(out,
			button("Edit Settings", theme.SettingsIcon(), widget.LowImportance, func() { g.ShowSettings(name) }),
			button("Clone…", theme.ContentCopyIcon(), widget.LowImportance, func() { g.cloneVM(name) }),
			button("Rename…", theme.DocumentCreateIcon(), widget.LowImportance, func() { g.renameVM(name) }),
		)
		if g.deps.Registry != nil {
			out = append(out, button("Push…", theme.UploadIcon(), widget.LowImportance, func() { g.pushVM(name) }))
		}
		out = append(out, guestSetupButtons(g, it)...)
	}
	return append(out,
		button("Show in Files", theme.FolderOpenIcon(), widget.LowImportance, func() { g.showError(g.deps.Files.Reveal(it.info.Dir)) }),
		button("Delete…", theme.DeleteIcon(), widget.LowImportance, func() { g.deleteVM(name) }),
	)
}

// act runs a controller action on name, showing its error if it fails.
func (g *GUI) act(name string, work func(ctx context.Context) error) {
	g.model.do(g.ctx, work, func(err error) {
		if err != nil {
			g.showError(fmt.Errorf("%s: %w", name, err))
		}
	})
}

func (g *GUI) startVM(name string, disposable bool) {
	it := g.model.item(name)
	if it == nil {
		return
	}
	if it.info.Config.OS == vm.OSMacOS {
		var running []string
		for _, o := range g.model.items {
			if o.info.Config != nil && o.info.Config.OS == vm.OSMacOS && o.info.State.Active() {
				running = append(running, o.info.Name)
			}
		}
		if len(running) >= maxMacOSGuests {
			dialog.ShowInformation("Two macOS VMs are already running",
				fmt.Sprintf("Apple lets at most %d macOS VMs run at once. Stop %q or %q first.", maxMacOSGuests, running[0], running[1]), g.lib.win)
			return
		}
	}
	g.model.setState(name, vm.StateStarting)
	g.act(name, func(ctx context.Context) error {
		return g.deps.Controller.Start(ctx, name, StartOptions{Disposable: disposable})
	})
}

// stopVM asks the guest to shut down; asked again, it offers to force it.
func (g *GUI) stopVM(name string) {
	it := g.model.item(name)
	if it == nil {
		return
	}
	if !it.stopRequested && it.info.State != vm.StateStopping {
		it.stopRequested = true
		g.model.changed()
		g.act(name, func(ctx context.Context) error { return g.deps.Controller.Stop(ctx, name, false) })
		return
	}
	d := dialog.NewConfirm(fmt.Sprintf("Force “%s” to stop?", name),
		"This ends the VM at once, like pulling its power cord.\nWork not saved inside the VM is lost.",
		func(ok bool) {
			if ok {
				g.act(name, func(ctx context.Context) error { return g.deps.Controller.Stop(ctx, name, true) })
			}
		}, g.lib.win)
	d.SetConfirmText("Force Stop")
	d.SetDismissText("Cancel")
	d.SetConfirmImportance(widget.DangerImportance)
	d.Show()
}

// refuseWhileRunning says that name must be stopped before what, and
// reports whether it did.
func (g *GUI) refuseWhileRunning(name, what string) bool {
	it := g.model.item(name)
	if it == nil || !it.info.State.Active() {
		return false
	}
	dialog.ShowInformation(fmt.Sprintf("“%s” is running", name),
		fmt.Sprintf("Stop it before you %s it.", what), g.lib.win)
	return true
}

func (g *GUI) deleteVM(name string) {
	if g.refuseWhileRunning(name, "delete") {
		return
	}
	d := dialog.NewConfirm(fmt.Sprintf("Delete “%s”?", name),
		"Its disks and settings are removed from this computer.\nThis cannot be undone.",
		func(ok bool) {
			if !ok {
				return
			}
			g.model.do(g.ctx, func(ctx context.Context) error { return g.deps.Library.Delete(ctx, name) }, nil)
		}, g.lib.win)
	d.SetConfirmText("Delete")
	d.SetDismissText("Cancel")
	d.SetConfirmImportance(widget.DangerImportance)
	d.Show()
}

// nameEntry is an entry for a new VM name that says at once what is wrong
// with the name typed.
func (g *GUI) nameEntry(initial string) *widget.Entry {
	e := widget.NewEntry()
	e.SetText(initial)
	e.Validator = func(s string) error {
		if err := vm.ValidateName(s); err != nil {
			return errors.New(nameProblem(err))
		}
		if g.model.has(s) {
			return fmt.Errorf("a VM called %q already exists; choose another name", s)
		}
		return nil
	}
	return e
}

// nameProblem is what ValidateName said, without the "invalid VM name"
// preamble a form field does not need.
func nameProblem(err error) string {
	msg := strings.TrimPrefix(err.Error(), vm.ErrInvalidName.Error())
	if i := strings.Index(msg, "\": "); strings.HasPrefix(msg, " \"") && i >= 0 {
		msg = msg[i+3:]
	}
	return strings.TrimLeft(msg, ": ")
}

func (g *GUI) renameVM(name string) {
	if g.refuseWhileRunning(name, "rename") {
		return
	}
	entry := g.nameEntry(name)
	d := dialog.NewForm(fmt.Sprintf("Rename “%s”", name), "Rename", "Cancel",
		[]*widget.FormItem{widget.NewFormItem("New name", entry)},
		func(ok bool) {
			if !ok || entry.Text == name {
				return
			}
			to := entry.Text
			g.model.do(g.ctx, func(ctx context.Context) error {
				_, err := g.deps.Library.Rename(ctx, name, to)
				return err
			}, func(err error) {
				if err != nil {
					g.showError(err)
					return
				}
				g.lib.selected = to
			})
		}, g.lib.win)
	d.Resize(fyne.NewSize(420, d.MinSize().Height))
	d.Show()
	g.lib.win.Canvas().Focus(entry)
}

func (g *GUI) cloneVM(name string) {
	if g.refuseWhileRunning(name, "clone") {
		return
	}
	entry := g.nameEntry(uniqueName(name+" copy", g.model.has))
	d := dialog.NewForm(fmt.Sprintf("Clone “%s”", name), "Clone", "Cancel",
		[]*widget.FormItem{widget.NewFormItem("Name of the copy", entry)},
		func(ok bool) {
			if ok {
				g.runClone(name, entry.Text)
			}
		}, g.lib.win)
	d.Resize(fyne.NewSize(420, d.MinSize().Height))
	d.Show()
	g.lib.win.Canvas().Focus(entry)
}

// runClone copies the VM with a progress bar that can be cancelled.
func (g *GUI) runClone(from, to string) {
	g.runWithProgress(fmt.Sprintf("Cloning “%s”", from), "Copying disks…", 420,
		func(ctx context.Context, progress func(done, total int64)) error {
			_, err := g.deps.Library.Clone(ctx, from, to, progress)
			return err
		}, func() { g.lib.selected = to })
}

// runWithProgress runs a long job (a clone, a push) behind a dialog with a
// progress bar and a Cancel button. A cancelled job says nothing, a failed
// one shows its error, and done runs when it succeeded.
func (g *GUI) runWithProgress(title, status string, width float32, job func(ctx context.Context, progress func(done, total int64)) error, done func()) {
	ctx, cancel := context.WithCancel(g.ctx)
	bar := widget.NewProgressBar()
	cancelButton := widget.NewButton("Cancel", cancel)
	d := dialog.NewCustomWithoutButtons(title, container.NewVBox(bar, hintLabel(status), container.NewCenter(cancelButton)), g.lib.win)
	d.Resize(fyne.NewSize(width, d.MinSize().Height))
	d.Show()
	report := newProgressReporter(g.deps.Do, func(p Progress) {
		if p.Total > 0 {
			bar.SetValue(float64(p.Done) / float64(p.Total))
		}
	})
	g.model.do(ctx, func(ctx context.Context) error {
		return job(ctx, func(done, total int64) { report(Progress{Done: done, Total: total}) })
	}, func(err error) {
		cancel()
		d.Hide()
		switch {
		case errors.Is(err, context.Canceled):
		case err != nil:
			g.showError(err)
		default:
			done()
		}
	})
}
