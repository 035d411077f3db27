package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2/dialog"

	"github.com/vivarium-vm/vivarium/vm"
)

// accelField is the QEMU backend's accelerator, shown for QEMU VMs only.
func (e *settingsEditor) accelField() *settingField {
	f := e.selectField("accel", "Accelerator", "How QEMU runs the guest. Automatic uses KVM (Linux) or HVF (macOS) where they can run it, else TCG, which emulates the processor and is much slower.", []choice{
		{vm.AccelAuto, "Automatic"}, {vm.AccelKVM, "KVM (Linux)"}, {vm.AccelHVF, "HVF (macOS)"}, {vm.AccelTCG, "TCG (emulation)"},
	}, func(c *vm.Config) *string { return &c.Accel })
	f.visible = func(c *vm.Config) bool { return c.Backend == vm.BackendQEMU }
	f.feature = fixed(FeatureAccel)
	return f
}

// offerReload says that config.toml changed since the window opened (the
// command line, a text editor, another window) and offers to reload it:
// the window then shows that change with the person's own changes (mine)
// on top, for them to check and save. Nothing is written until they do.
func (e *settingsEditor) offerReload(mine *vm.Config) {
	msg := fmt.Sprintf("The settings of “%s” were changed outside this window (on the command line, in a text editor or in another window) since it opened, so yours were not saved.\n\n"+
		"Reload shows that change together with yours; check them, then save.", e.name)
	setShown(e.problem, "Not saved: the settings were changed outside this window. Reload to keep both changes.")
	d := dialog.NewConfirm("Settings Changed Elsewhere", msg, func(reload bool) {
		if reload {
			e.reload(mine)
		}
	}, e.win)
	d.SetConfirmText("Reload")
	d.SetDismissText("Not Now")
	d.Show()
}

// reload reads the config again and rebuilds the window with the change
// found on disk and mine merged.
func (e *settingsEditor) reload(mine *vm.Config) {
	var info *vm.Info
	e.g.model.do(e.g.ctx, func(ctx context.Context) error {
		var err error
		info, err = e.g.deps.Library.Inspect(ctx, e.name)
		return err
	}, func(err error) {
		if err == nil && info.Config == nil {
			err = info.Err
		}
		if err != nil {
			setShown(e.problem, "Cannot reload: "+err.Error())
			return
		}
		tab := e.tabs.SelectedIndex()
		merged := vm.MergeConfig(e.opened, mine, info.Config)
		e.opened, e.rev = info.Config.Clone(), info.Revision
		e.build(merged)
		e.tabs.SelectIndex(tab)
		e.updateRunning()
	})
}
