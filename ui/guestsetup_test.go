package ui_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/guestsetup"
)

// withGuestSetup wires Set Up Guest… to the real guest setup, with a home
// folder that has no SSH key (so Vivarium makes its own).
func withGuestSetup(t *testing.T) option {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Fatal("ssh-keygen is not installed; scripts/deps.sh installs it (openssh-client)")
	}
	home := t.TempDir()
	return func(h *harness, d *ui.Deps) {
		d.GuestSetup = func(ctx context.Context, name string, opts guestsetup.Options) (*guestsetup.Result, error) {
			opts.Home = home
			return guestsetup.Run(ctx, h.lib, name, opts)
		}
	}
}

func qemuLinux(share string) func(c *vm.Config) {
	return func(c *vm.Config) {
		c.Backend, c.Arch = vm.BackendQEMU, vm.ArchAMD64
		c.Clipboard = true
		c.Shares = []vm.Share{{Path: share, Tag: "code"}}
	}
}

func (h *harness) openGuestSetup(name string) fyne.Window {
	h.t.Helper()
	lw := h.gui.Window()
	h.waitText(lw, name)
	tapText(h.t, lw, name)
	tap(h.t, lw, "Set Up Guest…")
	h.waitText(lw, "Set Up “"+name+"”")
	return lw
}

// userEntry is the dialog's user name entry, focused for typing.
func userEntry(t *testing.T, w fyne.Window) {
	t.Helper()
	for _, o := range visible(w) {
		if e, ok := o.(*widget.Entry); ok && e.PlaceHolder == "login name, like ana" {
			w.Canvas().Focus(e)
			return
		}
	}
	t.Fatalf("no user entry; the window shows %q", texts(w))
}

func TestSetUpGuestAttachesTheSeedAndShowsTheForward(t *testing.T) {
	h := newHarness(t, withGuestSetup(t))
	h.makeVM("Web", qemuLinux(t.TempDir()))
	lw := h.openGuestSetup("Web")
	for _, want := range []string{`Shared folder "code" at /mnt/code (9p)`, "SPICE agent for the shared clipboard", "Hostname web"} {
		if !hasText(lw, want) {
			t.Errorf("the dialog does not say %q; it shows %q", want, texts(lw))
		}
	}
	// A name a guest refuses is refused here, and nothing is made.
	userEntry(t, lw)
	typeInto(t, lw, "Ana Lopez")
	if !hasText(lw, "not a Linux login name") {
		t.Errorf("a bad user name is not flagged; the window shows %q", texts(lw))
	}
	tap(t, lw, "Attach to Next Boot")
	b, _ := h.lib.Bundle("Web")
	if _, err := os.Stat(b.SeedPath()); err == nil {
		t.Fatal("a seed was made for a user name the guest refuses")
	}

	userEntry(t, lw)
	typeInto(t, lw, "ana")
	if !hasText(lw, "User ana, who logs in with your SSH key") {
		t.Errorf("the steps do not follow the user typed; the window shows %q", texts(lw))
	}
	tap(t, lw, "Attach to Next Boot")
	h.waitText(lw, "“Web” is set up at its next boot")
	if !hasText(lw, `Added the port forward "`) {
		t.Errorf("the result does not say how SSH is reached; it shows %q", texts(lw))
	}
	if _, err := os.Stat(b.SeedPath()); err != nil {
		t.Errorf("no seed for the next boot: %v", err)
	}
	tap(t, lw, "OK")
	// The forward shows in the VM's summary.
	h.waitText(lw, "Ports 127.0.0.1:")
}

func TestSetUpGuestScriptIsCopied(t *testing.T) {
	h := newHarness(t, withGuestSetup(t))
	h.makeVM("Web", qemuLinux(t.TempDir()))
	lw := h.openGuestSetup("Web")
	userEntry(t, lw)
	typeInto(t, lw, "ana")
	tap(t, lw, "Show Script…")
	h.waitText(lw, "Guest setup script for “Web”")
	tap(t, lw, "Copy")
	got := h.app.Clipboard().Content()
	if !strings.HasPrefix(got, "#!/bin/sh\n") || !strings.Contains(got, "/mnt/code 9p") || !strings.Contains(got, "useradd -m -s /bin/bash ana") {
		t.Errorf("the clipboard holds %.200q, want the setup script", got)
	}
	if !hasText(lw, "Copied.") {
		t.Errorf("Copy does not say it copied; the window shows %q", texts(lw))
	}
	b, _ := h.lib.Bundle("Web")
	if _, err := os.Stat(b.SeedPath()); !os.IsNotExist(err) {
		t.Errorf("the script form attached a seed: %v", err)
	}
}

func TestSetUpGuestIsForLinuxVMsOnly(t *testing.T) {
	h := newHarness(t, withGuestSetup(t))
	h.makeVM("Mac", func(c *vm.Config) { *c = *vm.NewConfig("Mac", vm.OSMacOS); c.Disks = []vm.Disk{{Size: vm.GiB}} })
	lw := h.gui.Window()
	h.waitText(lw, "Mac")
	tapText(t, lw, "Mac")
	h.waitText(lw, "Edit Settings")
	if hasButton(lw, "Set Up Guest…") {
		t.Error("a macOS VM offers guest setup")
	}
}

func TestPortForwardsInSettings(t *testing.T) {
	h := newHarness(t)
	h.makeVM("Web", qemuLinux(t.TempDir()))
	lw := h.gui.Window()
	h.waitText(lw, "Web")
	tap(t, lw, "Edit Settings")
	w := h.windowTitled("“Web” Settings")
	tapText(t, w, "Network")
	w.Canvas().Focus(entryAfter(t, w, "Port forwards"))
	typeInto(t, w, "0.0.0.0:2222:22")
	if !hasText(w, "would open the guest to other computers") || !findButton(t, w, "Save").Disabled() {
		t.Fatalf("a forward open to the network is accepted; the window shows %q", texts(w))
	}
	typeInto(t, w, "2222:22, 2222:80")
	if !hasText(w, "give each forward its own host port") || !findButton(t, w, "Save").Disabled() {
		t.Fatalf("one host port twice is accepted; the window shows %q", texts(w))
	}
	typeInto(t, w, "2222:22, 8080:80")
	tap(t, w, "Save")
	h.loop.WaitFor(t, "the settings to close", func() bool { return !h.hasWindow("“Web” Settings") })
	info, _ := h.lib.Inspect(context.Background(), "Web")
	if got := strings.Join(info.Config.Network.Forwards, " "); got != "2222:22 8080:80" {
		t.Errorf("saved forwards %q", got)
	}
	h.waitText(lw, "Ports 127.0.0.1:2222 → 22, 127.0.0.1:8080 → 80")
}

func TestWizardOffersGuestSetupForAnISOInstall(t *testing.T) {
	h := newHarness(t, withGuestSetup(t))
	iso := writeFile(t, filepath.Join(t.TempDir(), "debian.iso"), "iso")
	h.files.Picks = []string{iso}
	w := h.openWizard()
	tapText(t, w, "Linux from an installer ISO")
	h.waitText(w, "Choose the installer")
	tap(t, w, "Browse…")
	tap(t, w, "Continue")
	h.waitText(w, "Processor, memory and disk")
	tap(t, w, "Continue")
	h.waitText(w, "Sharing and options")
	offer := check(t, w, "Set up the guest after its install: your user and SSH key, shared folders, clipboard")
	offer.SetChecked(true)
	tap(t, w, "Continue")
	h.waitText(w, "Name your VM")
	typeInto(t, w, "Desktop")
	press(t, w, fyne.KeyReturn)
	lw := h.gui.Window()
	h.waitText(lw, "Set Up “Desktop”")
	if !hasText(lw, "Once the install is done") {
		t.Errorf("the offer does not say it applies after the install; it shows %q", texts(lw))
	}
}
