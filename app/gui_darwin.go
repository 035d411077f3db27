//go:build darwin

package main

import (
	"strconv"

	"fyne.io/fyne/v2"

	"github.com/vivarium-vm/vivarium/internal/cocoa"
	"github.com/vivarium-vm/vivarium/ui"
)

// macFiles is Finder and the Mac's own open panel (NSOpenPanel), which
// fyne does not use. fyne calls the GUI on the main thread, where AppKit
// must be called.
type macFiles struct{}

var _ ui.Files = macFiles{}

func guiFiles(fyne.App) ui.Files { return macFiles{} }

// Reveal selects path in a Finder window.
func (macFiles) Reveal(path string) error {
	cocoa.Reveal(path)
	return nil
}

func (macFiles) PickFile(_ fyne.Window, title string, extensions []string, done func(string, error)) {
	done(cocoa.Choose(title, false, extensions), nil)
}

func (macFiles) PickFolder(_ fyne.Window, title string, done func(string, error)) {
	done(cocoa.Choose(title, true, nil), nil)
}

// guiRunningChanged shows how many VMs run on Vivarium's Dock icon.
func guiRunningChanged() func(int) {
	return func(n int) {
		label := ""
		if n > 0 {
			label = strconv.Itoa(n)
		}
		cocoa.SetDockBadge(label)
	}
}
