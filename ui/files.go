package ui

import (
	"fmt"
	"net/url"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
)

// DialogFiles is Files with fyne's own file dialogs, and the desktop's
// file manager through the app's OpenURL (xdg-open on Linux).
type DialogFiles struct{ App fyne.App }

var _ Files = DialogFiles{}

// Reveal opens the folder path in the file manager.
func (f DialogFiles) Reveal(path string) error {
	u := &url.URL{Scheme: "file", Path: path}
	if err := f.App.OpenURL(u); err != nil {
		return fmt.Errorf("opening %s in the file manager: %w", path, err)
	}
	return nil
}

// PickFile shows fyne's file dialog, filtered to extensions when given.
func (f DialogFiles) PickFile(parent fyne.Window, title string, extensions []string, done func(string, error)) {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			done("", err)
			return
		}
		path := r.URI().Path()
		r.Close()
		done(path, nil)
	}, parent)
	if len(extensions) > 0 {
		d.SetFilter(storage.NewExtensionFileFilter(extensions))
	}
	d.SetTitleText(title)
	d.Resize(dialogSize(parent))
	d.Show()
}

// PickFolder shows fyne's folder dialog.
func (f DialogFiles) PickFolder(parent fyne.Window, title string, done func(string, error)) {
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil || u == nil {
			done("", err)
			return
		}
		done(u.Path(), nil)
	}, parent)
	d.SetTitleText(title)
	d.Resize(dialogSize(parent))
	d.Show()
}

// dialogSize is a comfortable size for a file dialog in parent.
func dialogSize(parent fyne.Window) fyne.Size {
	s := parent.Canvas().Size()
	return fyne.NewSize(max(s.Width*0.85, 600), max(s.Height*0.85, 420))
}
