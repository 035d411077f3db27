//go:build !darwin

package main

import (
	"fyne.io/fyne/v2"

	"github.com/vivarium-vm/vivarium/ui"
)

// guiFiles is fyne's file dialogs and the desktop's file manager.
func guiFiles(a fyne.App) ui.Files { return ui.DialogFiles{App: a} }

// guiRunningChanged is nil: Linux desktops have no Dock badge to set.
func guiRunningChanged() func(int) { return nil }
