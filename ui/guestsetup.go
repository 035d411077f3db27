package ui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/guestsetup"
)

// GuestSetupFunc sets up the guest of the VM called name
// (guestsetup.Run, wired by app/ with the person's home folder).
type GuestSetupFunc func(ctx context.Context, name string, opts guestsetup.Options) (*guestsetup.Result, error)

// guestSetupButtons is "Set Up Guest…" for a Linux VM, when the GUI is
// wired to do it.
func guestSetupButtons(g *GUI, it *vmItem) []fyne.CanvasObject {
	c := it.info.Config
	if g.deps.GuestSetup == nil || c == nil || c.OS != vm.OSLinux {
		return nil
	}
	name := it.info.Name
	return []fyne.CanvasObject{button("Set Up Guest…", theme.AccountIcon(), widget.LowImportance, func() { g.showGuestSetup(name, c, false) })}
}

// newGuestSetupCheck is the wizard's offer of guest setup, shown for Linux
// VMs installed from an ISO.
func (w *wizard) newGuestSetupCheck() fyne.CanvasObject {
	w.guestSetup = widget.NewCheck("Set up the guest after its install: your user and SSH key, shared folders, clipboard", nil)
	w.guestSetup.Hide()
	return w.guestSetup
}

func (w *wizard) updateGuestSetup(c *vm.Config) {
	if w.guestSetup == nil {
		return
	}
	if w.g.deps.GuestSetup != nil && w.kind == kindISO && c.OS == vm.OSLinux {
		w.guestSetup.Show()
	} else {
		w.guestSetup.Hide()
	}
}

// offerGuestSetup opens Set Up Guest for the VM just made, when asked to.
func (w *wizard) offerGuestSetup(c *vm.Config) {
	if w.guestSetup != nil && w.guestSetup.Visible() && w.guestSetup.Checked {
		w.g.showGuestSetup(c.Name, c, true)
	}
}

// showGuestSetup asks for the user to make in the guest, says what the
// setup will do, and either attaches the seed to the VM's next boots or
// shows the same steps as a script to copy. afterCreate words it for a VM
// the wizard just made, whose OS is yet to be installed.
func (g *GUI) showGuestSetup(name string, c *vm.Config, afterCreate bool) {
	user := widget.NewEntry()
	user.SetText(guestsetup.DefaultUser())
	user.SetPlaceHolder("login name, like ana")
	steps := widget.NewLabel("")
	steps.Wrapping = fyne.TextWrapWord
	problem := errorLabel()
	preview := func() {
		if err := guestsetup.ValidateUser(strings.TrimSpace(user.Text)); err != nil && user.Text != "" {
			setShown(problem, err.Error())
		} else {
			setShown(problem, "")
		}
		lines, err := guestsetup.Preview(c, strings.TrimSpace(user.Text))
		if err != nil {
			steps.SetText(err.Error())
			return
		}
		steps.SetText("• " + strings.Join(lines, "\n• "))
	}
	user.OnChanged = func(string) { preview() }
	preview()

	intro := "Vivarium makes a small cloud-init disk that this VM's next boots get. cloud-init in the guest then does:"
	if afterCreate {
		intro = "Once the install is done, a guest with cloud-init (Ubuntu, Fedora, Debian cloud images) sets itself up at its next boot with:"
	}
	var d dialog.Dialog
	refuse := func() bool {
		if err := guestsetup.ValidateUser(strings.TrimSpace(user.Text)); err != nil {
			setShown(problem, err.Error())
			return true
		}
		return false
	}
	attach := widget.NewButtonWithIcon("Attach to Next Boot", theme.ConfirmIcon(), func() {
		if refuse() {
			return
		}
		d.Hide()
		g.runGuestSetup(name, strings.TrimSpace(user.Text), false)
	})
	attach.Importance = widget.HighImportance
	script := widget.NewButton("Show Script…", func() {
		if refuse() {
			return
		}
		d.Hide()
		g.runGuestSetup(name, strings.TrimSpace(user.Text), true)
	})
	cancel := widget.NewButton("Cancel", func() { d.Hide() })
	body := container.NewVBox(
		widget.NewForm(widget.NewFormItem("User in the guest", user)),
		problem,
		hintLabel(intro),
		steps,
		hintLabel("No cloud-init in the guest? Show Script gives the same steps as one shell script to run as root."),
		container.NewHBox(layout.NewSpacer(), cancel, script, attach),
	)
	d = dialog.NewCustomWithoutButtons(fmt.Sprintf("Set Up “%s”", name), body, g.lib.win)
	d.Resize(fyne.NewSize(560, d.MinSize().Height))
	d.Show()
	g.lib.win.Canvas().Focus(user)
}

// runGuestSetup makes the setup off the UI goroutine and shows what it did.
func (g *GUI) runGuestSetup(name, user string, asScript bool) {
	var res *guestsetup.Result
	g.model.do(g.ctx, func(ctx context.Context) error {
		var err error
		res, err = g.deps.GuestSetup(ctx, name, guestsetup.Options{User: user, Script: asScript})
		return err
	}, func(err error) {
		if err != nil {
			g.showError(fmt.Errorf("setting up %s: %w", name, err))
			return
		}
		if asScript {
			g.showGuestScript(name, res)
			return
		}
		msg := widget.NewLabel(strings.Join(res.Summary(), "\n"))
		msg.Wrapping = fyne.TextWrapWord
		info := dialog.NewCustom(fmt.Sprintf("“%s” is set up at its next boot", name), "OK", msg, g.lib.win)
		info.Resize(fyne.NewSize(520, info.MinSize().Height))
		info.Show()
	})
}

// showGuestScript shows the setup script with a Copy button.
func (g *GUI) showGuestScript(name string, res *guestsetup.Result) {
	text := widget.NewMultiLineEntry()
	text.SetText(res.Script)
	text.TextStyle = fyne.TextStyle{Monospace: true}
	text.Wrapping = fyne.TextWrapOff
	text.OnChanged = func(s string) {
		if s != res.Script {
			text.SetText(res.Script) // read-only, but still selectable
		}
	}
	// Never hidden, so the dialog keeps its layout when the text changes.
	copied := hintLabel("Copy puts the script on the clipboard.")
	copyButton := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		fyne.CurrentApp().Clipboard().SetContent(res.Script)
		copied.SetText("Copied. Paste it into a root shell in the guest (sudo sh, then paste).")
	})
	copyButton.Importance = widget.HighImportance
	notes := hintLabel(strings.Join(res.Summary(), "\n"))
	scroll := container.NewScroll(text)
	scroll.SetMinSize(fyne.NewSize(640, 320))
	d := dialog.NewCustom(fmt.Sprintf("Guest setup script for “%s”", name), "Close",
		container.NewBorder(nil, container.NewVBox(container.NewBorder(nil, nil, copyButton, nil, copied), notes), nil, nil, scroll), g.lib.win)
	d.Show()
}

// forwardsField is the settings editor's port forwards: "2222:22,
// 8080:80", shown for QEMU VMs on NAT.
func (e *settingsEditor) forwardsField() *settingField {
	f, _ := e.entryField("network.forwards", "Port forwards",
		"HOST:GUEST ports, comma-separated, like 2222:22. They listen on 127.0.0.1 only.",
		func(c *vm.Config) string { return strings.Join(c.Network.Forwards, ", ") },
		func(c *vm.Config, s string) error {
			c.Network.Forwards = nil
			for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
				if _, err := vm.ParseForward(part); err != nil {
					return err
				}
				c.Network.Forwards = append(c.Network.Forwards, part)
			}
			return nil
		})
	for i := 0; i < 32; i++ {
		f.keys = append(f.keys, fmt.Sprintf("network.forwards[%d]", i))
	}
	f.visible = func(c *vm.Config) bool { return c.Network.Mode == vm.NetNAT && c.Backend == vm.BackendQEMU }
	f.clear = func(c *vm.Config) { c.Network.Forwards = nil }
	return f
}
