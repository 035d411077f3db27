// Command fyneblank opens an empty fyne window titled "fyne blank": the
// baseline the GUI benchmark measures Vivarium's library window against.
package main

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"
)

func main() {
	a := app.New()
	w := a.NewWindow("fyne blank")
	w.SetContent(widget.NewLabel(""))
	w.Resize(fyne.NewSize(960, 640))
	w.ShowAndRun()
}
