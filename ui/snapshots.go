package ui

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"os"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/snapshot"
)

// Snapshots are the VMs' named points in time, by VM name.
// *snapshot.Manager is one.
type Snapshots interface {
	List(ctx context.Context, vmName string) ([]*snapshot.Info, error)
	// Take snapshots the VM; a running one live (with its memory) when
	// allowLive.
	Take(ctx context.Context, vmName, name string, allowLive bool) (*snapshot.Info, error)
	Restore(ctx context.Context, vmName, name string) (*snapshot.Info, error)
	Delete(ctx context.Context, vmName, name string) error
	// Keep makes a running disposable session a new VM.
	Keep(ctx context.Context, vmName, newName string) error
}

var _ Snapshots = (*snapshot.Manager)(nil)

// snapshotThumb is the size of a snapshot's thumbnail in its row.
var snapshotThumb = fyne.NewSize(112, 63)

// snapshotsSection is the Snapshots part of a VM's detail: each snapshot
// with its thumbnail, name, date and a "with memory" mark, and the actions
// on them. The list is read off the UI goroutine and filled in when ready.
func snapshotsSection(g *GUI, it *vmItem) fyne.CanvasObject {
	info := it.info
	if g.deps.Snapshots == nil || info.Config == nil || info.State == vm.StateBroken {
		return layout.NewSpacer()
	}
	name := info.Name
	title := widget.NewLabelWithStyle("Snapshots", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	take := button("Take Snapshot…", theme.ContentAddIcon(), widget.LowImportance, func() { g.takeSnapshot(name) })
	head := container.NewHBox(title, layout.NewSpacer(), take)
	rows := container.NewVBox(hintLabel("Reading snapshots…"))
	if last, ok := g.snapshotLists[name]; ok {
		fillSnapshotRows(g, rows, name, last)
	}
	ctx, active, disposableDir := g.ctx, info.State.Active(), info.Bundle().DisposableDir()
	go func() {
		// A disposable run has its throw-away disks in run/disposable.
		_, err := os.Stat(disposableDir)
		if disposable := active && err == nil; disposable {
			g.deps.Do(func() {
				keep := button("Keep as New VM…", theme.DocumentSaveIcon(), widget.LowImportance, func() { g.keepSession(name) })
				head.Objects = []fyne.CanvasObject{title, layout.NewSpacer(), keep, take}
				head.Refresh()
			})
		}
		infos, err := g.deps.Snapshots.List(ctx, name)
		thumbs := make([]fyne.Resource, len(infos))
		for i, s := range infos {
			if s.Thumbnail != "" {
				if data, err := os.ReadFile(s.Thumbnail); err == nil {
					thumbs[i] = fyne.NewStaticResource(fmt.Sprintf("%s@%d", s.Thumbnail, s.Created.UnixNano()), data)
				}
			}
		}
		list := snapshotList{infos: infos, thumbs: thumbs, err: err}
		g.deps.Do(func() {
			if g.snapshotLists == nil {
				g.snapshotLists = map[string]snapshotList{}
			}
			g.snapshotLists[name] = list
			fillSnapshotRows(g, rows, name, list)
			// The rows changed the pane's height: lay the detail out again,
			// scrolling included.
			for _, o := range g.lib.detail.Objects {
				o.Refresh()
			}
		})
	}()
	return container.NewVBox(widget.NewSeparator(), head, rows)
}

// snapshotList is one read of a VM's snapshots, thumbnails loaded.
type snapshotList struct {
	infos  []*snapshot.Info
	thumbs []fyne.Resource
	err    error
}

func fillSnapshotRows(g *GUI, rows *fyne.Container, vmName string, l snapshotList) {
	infos, thumbs := l.infos, l.thumbs
	rows.Objects = nil
	switch {
	case l.err != nil:
		rows.Add(hintLabel(l.err.Error()))
	case len(infos) == 0:
		rows.Add(hintLabel("No snapshots yet. A snapshot keeps the VM as it is now — disks, settings and, taken while it runs, its memory — so you can come back to it."))
	}
	for i, s := range infos {
		rows.Add(snapshotRow(g, vmName, s, thumbs[i]))
	}
	rows.Refresh()
}

func snapshotRow(g *GUI, vmName string, s *snapshot.Info, thumb fyne.Resource) fyne.CanvasObject {
	var pic fyne.CanvasObject
	if thumb != nil {
		img := canvas.NewImageFromResource(thumb)
		img.FillMode = canvas.ImageFillContain
		img.CornerRadius = 4
		img.SetMinSize(snapshotThumb)
		pic = img
	} else {
		bg := canvas.NewRectangle(color.NRGBA{0x80, 0x80, 0x80, 0x30})
		bg.CornerRadius = 4
		bg.SetMinSize(snapshotThumb)
		pic = bg
	}
	name := widget.NewLabelWithStyle(s.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	name.Truncation = fyne.TextTruncateEllipsis
	when := s.Created.Local().Format("2 Jan 2006 15:04")
	if s.Memory {
		when += "  ·  with memory"
	}
	meta := widget.NewLabel(when)
	meta.Importance = widget.LowImportance
	text := []fyne.CanvasObject{name, meta}
	buttons := []fyne.CanvasObject{}
	if s.Broken() {
		why := widget.NewLabel("Damaged: " + s.Error)
		why.Importance = widget.DangerImportance
		why.Wrapping = fyne.TextWrapWord
		text = append(text, why)
	} else {
		buttons = append(buttons, button("Restore…", theme.HistoryIcon(), widget.LowImportance, func() { g.restoreSnapshot(vmName, s) }))
	}
	buttons = append(buttons, button("Delete…", theme.DeleteIcon(), widget.LowImportance, func() { g.deleteSnapshot(vmName, s.Name) }))
	return container.NewBorder(nil, nil, pic, container.NewVBox(layout.NewSpacer(), container.NewHBox(buttons...), layout.NewSpacer()),
		container.NewVBox(layout.NewSpacer(), container.New(layout.NewCustomPaddedVBoxLayout(-8), text...), layout.NewSpacer()))
}

func (g *GUI) takeSnapshot(vmName string) {
	it := g.model.item(vmName)
	if it == nil {
		return
	}
	entry := widget.NewEntry()
	entry.SetText(snapshot.DefaultName(time.Now()))
	entry.Validator = func(s string) error {
		if err := snapshot.ValidateName(s); err != nil {
			return errors.New(nameProblem(errors.Unwrap(err)))
		}
		return nil
	}
	note := "The VM is stopped: its disks and settings are kept as they are."
	if it.info.State == vm.StateSuspended {
		note = "The VM is suspended: its memory is kept too, and a restore resumes it there."
	}
	live := it.info.State.Active()
	if live {
		note = "The VM keeps running: it pauses for a moment while its memory is saved, and a restore resumes it there."
	}
	d := dialog.NewForm(fmt.Sprintf("Snapshot “%s”", vmName), "Take Snapshot", "Cancel",
		[]*widget.FormItem{widget.NewFormItem("Name", entry), widget.NewFormItem("", hintLabel(note))},
		func(ok bool) {
			if !ok {
				return
			}
			name := entry.Text
			g.model.do(g.ctx, func(ctx context.Context) error {
				_, err := g.deps.Snapshots.Take(ctx, vmName, name, live)
				return err
			}, nil)
		}, g.lib.win)
	d.Resize(fyne.NewSize(460, d.MinSize().Height))
	d.Show()
	g.lib.win.Canvas().Focus(entry)
}

func (g *GUI) restoreSnapshot(vmName string, s *snapshot.Info) {
	if g.refuseWhileRunning(vmName, "restore") {
		return
	}
	lost := fmt.Sprintf("Everything that changed in “%s” since %s is lost: what was written to its disks, its settings", vmName, s.Created.Local().Format("2 Jan 2006 15:04"))
	if it := g.model.item(vmName); it != nil && it.info.State == vm.StateSuspended {
		lost += " and its suspended session"
	}
	next := "Its next start boots it as it was then."
	if s.Memory {
		next = "Its next start resumes it exactly where it was then."
	}
	d := dialog.NewConfirm(fmt.Sprintf("Restore “%s” to “%s”?", vmName, s.Name),
		lost+".\n"+next+"\nThe snapshot stays, to restore again.",
		func(ok bool) {
			if ok {
				g.model.do(g.ctx, func(ctx context.Context) error {
					_, err := g.deps.Snapshots.Restore(ctx, vmName, s.Name)
					return err
				}, nil)
			}
		}, g.lib.win)
	d.SetConfirmText("Restore")
	d.SetDismissText("Cancel")
	d.SetConfirmImportance(widget.DangerImportance)
	d.Show()
}

func (g *GUI) deleteSnapshot(vmName, name string) {
	d := dialog.NewConfirm(fmt.Sprintf("Delete snapshot “%s”?", name),
		fmt.Sprintf("Its space is freed; “%s” itself does not change.\nThis cannot be undone.", vmName),
		func(ok bool) {
			if ok {
				g.model.do(g.ctx, func(ctx context.Context) error { return g.deps.Snapshots.Delete(ctx, vmName, name) }, nil)
			}
		}, g.lib.win)
	d.SetConfirmText("Delete")
	d.SetDismissText("Cancel")
	d.SetConfirmImportance(widget.DangerImportance)
	d.Show()
}

// keepSession keeps a disposable run as a new VM.
func (g *GUI) keepSession(vmName string) {
	entry := g.nameEntry(uniqueName(vmName+" kept", g.model.has))
	d := dialog.NewForm(fmt.Sprintf("Keep this run of “%s”", vmName), "Keep", "Cancel",
		[]*widget.FormItem{
			widget.NewFormItem("New VM", entry),
			widget.NewFormItem("", hintLabel("A disposable run forgets its changes when it stops. This makes a new VM of its disks as they are now; the VM it runs from stays as it was.")),
		},
		func(ok bool) {
			if !ok {
				return
			}
			to := entry.Text
			g.model.do(g.ctx, func(ctx context.Context) error { return g.deps.Snapshots.Keep(ctx, vmName, to) }, nil)
		}, g.lib.win)
	d.Resize(fyne.NewSize(460, d.MinSize().Height))
	d.Show()
	g.lib.win.Canvas().Focus(entry)
}
