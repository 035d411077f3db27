package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// vivariumTheme is fyne's theme with text colours closer to a Mac's: text
// near black, and secondary text (fyne's "disabled" colour, which quiet
// labels use) grey enough to read rather than a faint tint.
type vivariumTheme struct{ fyne.Theme }

// Theme is Vivarium's look, on top of fyne's default theme.
func Theme() fyne.Theme { return vivariumTheme{theme.DefaultTheme()} }

func (t vivariumTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	light := v == theme.VariantLight
	switch n {
	case theme.ColorNameForeground:
		if light {
			return color.NRGBA{0x1d, 0x1d, 0x1f, 0xff}
		}
	case theme.ColorNameDisabled:
		if light {
			return color.NRGBA{0x8a, 0x8a, 0x8e, 0xff}
		}
		return color.NRGBA{0x8e, 0x8e, 0x93, 0xff}
	}
	return t.Theme.Color(n, v)
}
