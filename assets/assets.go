// Package assets draws Vivarium's icons in pure Go and embeds the PNGs made
// from them: the app icon (for the window and the .app's Vivarium.icns) and
// the small per-OS icons of the VM library.
//
// The PNGs are generated, never edited by hand: after changing a drawing, run
// `go generate ./assets` (or `make icon`) and commit the result. A test fails
// when a committed PNG no longer matches its drawing.
package assets

import (
	"embed"
	"image"
)

//go:generate go run ./cmd/genicon -dir .

// Sizes, in pixels, of the generated PNGs.
const (
	IconSize   = 1024
	OSIconSize = 256
)

// IconPNG is the app icon, IconSize pixels square, for a window icon.
//
//go:embed icon.png
var IconPNG []byte

//go:embed os-*.png
var osIcons embed.FS

// OSIcon returns the PNG (OSIconSize pixels square) the library shows beside
// a VM of the given guest OS: "macos", "linux" or "other". An OS it does not
// know gets the "other" icon.
func OSIcon(guestOS string) []byte {
	data, err := osIcons.ReadFile(osIconFile(guestOS))
	if err != nil {
		data, _ = osIcons.ReadFile(osIconFile(osOther))
	}
	return data
}

func osIconFile(guestOS string) string { return "os-" + guestOS + ".png" }

// Source is one generated PNG: the file it is committed as, in this
// directory, and the drawing it is made from.
type Source struct {
	File string
	Draw func() image.Image
}

// Sources lists every PNG this package embeds, for the generator and for the
// test that keeps the committed files in step with the drawings.
func Sources() []Source {
	sources := []Source{{File: "icon.png", Draw: func() image.Image { return Icon(IconSize) }}}
	for _, guestOS := range []string{osMacOS, osLinux, osOther} {
		sources = append(sources, Source{
			File: osIconFile(guestOS),
			Draw: func() image.Image { return OSIconImage(guestOS, OSIconSize) },
		})
	}
	return sources
}
