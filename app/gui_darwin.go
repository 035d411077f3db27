//go:build darwin

package main

import (
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"github.com/progrium/darwinkit/macos/appkit"
	"github.com/progrium/darwinkit/macos/foundation"
	"github.com/progrium/darwinkit/macos/uti"

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
	url := foundation.URL_FileURLWithPath(path)
	appkit.Workspace_SharedWorkspace().ActivateFileViewerSelectingURLs([]foundation.IURL{url})
	return nil
}

func (macFiles) PickFile(_ fyne.Window, title string, extensions []string, done func(string, error)) {
	p := openPanel(title, false)
	var types []uti.IType
	for _, ext := range extensions {
		if t := uti.Type_TypeWithFilenameExtension(strings.TrimPrefix(ext, ".")); !t.IsNil() {
			types = append(types, t)
		}
	}
	if len(types) > 0 {
		p.SetAllowedContentTypes(types)
	}
	done(runPanel(p), nil)
}

func (macFiles) PickFolder(_ fyne.Window, title string, done func(string, error)) {
	done(runPanel(openPanel(title, true)), nil)
}

func openPanel(title string, folders bool) appkit.OpenPanel {
	p := appkit.OpenPanel_OpenPanel()
	p.SetCanChooseFiles(!folders)
	p.SetCanChooseDirectories(folders)
	p.SetAllowsMultipleSelection(false)
	p.SetResolvesAliases(true)
	p.SetMessage(title)
	p.SetPrompt("Choose")
	return p
}

// runPanel shows p and returns the chosen path, or "" when cancelled.
func runPanel(p appkit.OpenPanel) string {
	if p.RunModal() != appkit.ModalResponseOK {
		return ""
	}
	return p.URL().Path()
}

// guiRunningChanged shows how many VMs run on Vivarium's Dock icon.
func guiRunningChanged() func(int) {
	return func(n int) {
		label := ""
		if n > 0 {
			label = strconv.Itoa(n)
		}
		appkit.Application_SharedApplication().DockTile().SetBadgeLabel(label)
	}
}
