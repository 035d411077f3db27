package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/vivarium-vm/vivarium/vm"
)

// Registry shares VMs through OCI registries, in Tart's image format
// (vm/oci; app/ wires it). Credentials are the ones `vivarium login` or
// `docker login` stored.
type Registry interface {
	// Pull makes the VM name from the image ref.
	Pull(ctx context.Context, ref, name string, insecure bool, progress vm.Progress) (*vm.Info, error)
	// Push sends the stopped VM name to the registry as ref.
	Push(ctx context.Context, name, ref string, insecure bool, progress vm.Progress) error
	// CheckReference says what is wrong with an image reference, or nil.
	CheckReference(ref string) error
	// DefaultName is the VM name a pull of ref proposes ("" if none).
	DefaultName(ref string) string
}

// kindRegistry is the wizard's "Pull from a Registry…" choice.
const kindRegistry = "registry"

// registryExample is a Tart image a Mac user can pull, shown as a hint.
const registryExample = "ghcr.io/cirruslabs/macos-sequoia-base:latest"

// registryFields are the wizard's fields for a pull.
type registryFields struct {
	ref      *wizField
	insecure *widget.Check
}

func (w *wizard) buildRegistry() {
	w.registry.ref = w.newField(stepSource, "The image", registryExample, "source")
	w.registry.insecure = widget.NewCheck("The registry speaks plain HTTP (a local or test registry you trust)", nil)
}

func (w *wizard) registryCard() fyne.CanvasObject {
	card := newChoiceCard(fixedImage(theme.DownloadIcon(), 48, 48), "Pull from a Registry…",
		"A VM someone shared through an OCI registry: made with Vivarium or Tart (macOS and Linux images from ghcr.io/cirruslabs, say).",
		func() { w.choose(kindRegistry) })
	if w.g.deps.Registry == nil {
		card.disable("Registries are not available in this build of Vivarium.")
	}
	return card
}

func (w *wizard) registrySourcePage() fyne.CanvasObject {
	return container.NewVBox(
		labelled("Image", container.NewVBox(w.registry.ref.entry, w.registry.ref.error)),
		w.registry.insecure,
		hintLabel("REGISTRY/REPOSITORY:TAG, for example "+registryExample+". Credentials come from `vivarium login` (or `docker login`). "+
			"An interrupted pull continues where it stopped when you pull the same image again."),
	)
}

func (w *wizard) registryRef() string { return strings.TrimSpace(w.registry.ref.entry.Text) }

// registryProblem is what is wrong with the image typed, or nil.
func (w *wizard) registryProblem() error {
	ref := w.registryRef()
	if ref == "" {
		return errors.New("is empty; give the image, such as " + registryExample)
	}
	if w.g.deps.Registry == nil {
		return errors.New("registries are not available in this build")
	}
	return w.g.deps.Registry.CheckReference(ref)
}

// registryName proposes the VM's name from the image's repository.
func (w *wizard) registryName() string {
	if w.g.deps.Registry == nil {
		return ""
	}
	return uniqueName(w.g.deps.Registry.DefaultName(w.registryRef()), w.g.model.has)
}

func registrySummary(w *wizard) []summaryRow {
	rows := []summaryRow{{"Image", w.registryRef()}}
	if w.registry.insecure.Checked {
		rows = append(rows, summaryRow{"Connection", "plain HTTP"})
	}
	return append(rows, summaryRow{"Settings", "as the image has them; change them once it is pulled"})
}

// pullImage is the wizard's create step for a pull.
func (w *wizard) pullImage(ctx context.Context, name string, report func(Progress)) error {
	ref := w.registryRef()
	step := "Downloading " + ref + "…"
	report(Progress{Step: step})
	_, err := w.g.deps.Registry.Pull(ctx, ref, name, w.registry.insecure.Checked, func(done, total int64) {
		report(Progress{Step: step, Done: done, Total: total})
	})
	return err
}

// pushVM asks where to push name, then pushes it with progress and Cancel.
func (g *GUI) pushVM(name string) {
	if g.refuseWhileRunning(name, "push") {
		return
	}
	ref := widget.NewEntry()
	ref.SetPlaceHolder("ghcr.io/you/" + strings.ToLower(strings.ReplaceAll(name, " ", "-")) + ":latest")
	ref.Validator = g.deps.Registry.CheckReference
	insecure := widget.NewCheck("Plain HTTP (a local or test registry you trust)", nil)
	d := dialog.NewForm(fmt.Sprintf("Push “%s”", name), "Push", "Cancel",
		[]*widget.FormItem{
			widget.NewFormItem("Image", ref),
			widget.NewFormItem("", insecure),
			widget.NewFormItem("", hintLabel("Tart can pull it too. Credentials come from `vivarium login` (or `docker login`).")),
		},
		func(ok bool) {
			if ok {
				g.runPush(name, strings.TrimSpace(ref.Text), insecure.Checked)
			}
		}, g.lib.win)
	d.Resize(fyne.NewSize(520, d.MinSize().Height))
	d.Show()
	g.lib.win.Canvas().Focus(ref)
}

func (g *GUI) runPush(name, ref string, insecure bool) {
	g.runWithProgress(fmt.Sprintf("Pushing “%s” to %s", name, ref), "Compressing and sending the disks…", 480,
		func(ctx context.Context, progress func(done, total int64)) error {
			return g.deps.Registry.Push(ctx, name, ref, insecure, progress)
		}, func() {
			dialog.ShowInformation("Pushed", fmt.Sprintf("“%s” is in %s. Pull it with Vivarium or Tart.", name, ref), g.lib.win)
		})
}
