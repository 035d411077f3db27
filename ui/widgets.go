package ui

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/vivarium-vm/vivarium/assets"
	"github.com/vivarium-vm/vivarium/vm"
)

// Colours of the state badges: calm, and the same in light and dark themes.
var badgeColors = map[vm.State]color.NRGBA{
	vm.StateStopped:   {0x8e, 0x8e, 0x93, 0xff},
	vm.StateStarting:  {0xd9, 0x8a, 0x1c, 0xff},
	vm.StateRunning:   {0x2f, 0x9e, 0x5a, 0xff},
	vm.StatePaused:    {0x3a, 0x7b, 0xd5, 0xff},
	vm.StateStopping:  {0xd9, 0x8a, 0x1c, 0xff},
	vm.StateSuspended: {0x6e, 0x5b, 0xc9, 0xff},
	vm.StateBroken:    {0xd6, 0x3c, 0x3c, 0xff},
}

// newBadge draws a VM's state as a small coloured pill with its name.
func newBadge(s vm.State) fyne.CanvasObject {
	bg := canvas.NewRectangle(badgeColors[s])
	bg.CornerRadius = 8
	text := canvas.NewText(stateText(s), color.White)
	text.TextSize = theme.CaptionTextSize()
	text.TextStyle = fyne.TextStyle{Bold: true}
	text.Alignment = fyne.TextAlignCenter
	pad := container.New(layout.NewCustomPaddedLayout(1, 1, 7, 7), text)
	return container.NewCenter(container.NewStack(bg, pad))
}

// osIconImages holds each OS icon decoded once. A canvas.Image made from a
// resource decodes its own copy (256 KiB for a 256-pixel icon), so a
// library of a hundred VMs held a hundred copies of three pictures.
var osIconImages sync.Map // guest OS → image.Image

// osIconImage is osIcon decoded, shared by every row and header that
// shows it.
func osIconImage(guestOS string) image.Image {
	if guestOS == "" {
		guestOS = vm.OSOther
	}
	if img, ok := osIconImages.Load(guestOS); ok {
		return img.(image.Image)
	}
	img, err := png.Decode(bytes.NewReader(assets.OSIcon(guestOS)))
	if err != nil {
		img = image.NewNRGBA(image.Rect(0, 0, 1, 1))
	}
	actual, _ := osIconImages.LoadOrStore(guestOS, img)
	return actual.(image.Image)
}

// osIconView is a guest OS's icon drawn at a fixed size.
func osIconView(guestOS string, w, h float32) *canvas.Image {
	img := canvas.NewImageFromImage(osIconImage(guestOS))
	img.FillMode = canvas.ImageFillContain
	img.SetMinSize(fyne.NewSize(w, h))
	return img
}

// AppIcon is Vivarium's icon, for windows and the About box.
func AppIcon() fyne.Resource { return fyne.NewStaticResource("vivarium.png", assets.IconPNG) }

// fixedImage is an image drawn at a fixed size, keeping its aspect.
func fixedImage(res fyne.Resource, w, h float32) *canvas.Image {
	img := canvas.NewImageFromResource(res)
	img.FillMode = canvas.ImageFillContain
	img.SetMinSize(fyne.NewSize(w, h))
	return img
}

// vmRow is one VM in the library's list: its screen or OS icon, its name,
// a line about it, and its state.
type vmRow struct {
	widget.BaseWidget
	name     string
	onTap    func()
	selected bool
	hovered  bool

	bg       *canvas.Rectangle
	icon     *canvas.Image
	title    *widget.Label
	subtitle *widget.Label
	badge    *fyne.Container
}

func newVMRow(onTap func()) *vmRow {
	r := &vmRow{onTap: onTap}
	r.bg = canvas.NewRectangle(color.Transparent)
	r.bg.CornerRadius = 8
	// Wide enough for a screen, so a thumbnail reads as one.
	r.icon = osIconView(vm.OSOther, 60, 44)
	r.icon.CornerRadius = 3
	r.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	r.title.Truncation = fyne.TextTruncateEllipsis
	r.subtitle = widget.NewLabel("")
	r.subtitle.Importance = widget.LowImportance
	r.subtitle.SizeName = theme.SizeNameCaptionText
	r.subtitle.Truncation = fyne.TextTruncateEllipsis
	r.badge = container.NewStack()
	r.ExtendBaseWidget(r)
	return r
}

func (r *vmRow) set(it *vmItem, selected bool) {
	r.name = it.info.Name
	r.selected = selected
	if it.thumb != nil {
		r.icon.Image, r.icon.Resource = nil, it.thumb
	} else {
		r.icon.Image, r.icon.Resource = osIconImage(guestOS(it.info)), nil
	}
	r.icon.Refresh()
	r.title.SetText(it.info.Name)
	r.subtitle.SetText(rowSubtitle(it.info))
	r.badge.Objects = []fyne.CanvasObject{newBadge(it.info.State)}
	r.badge.Refresh()
	r.Refresh()
}

func (r *vmRow) CreateRenderer() fyne.WidgetRenderer {
	text := container.New(layout.NewCustomPaddedVBoxLayout(-8), r.title, r.subtitle)
	row := container.NewBorder(nil, nil, container.NewCenter(r.icon), container.NewCenter(r.badge), container.NewVBox(layout.NewSpacer(), text, layout.NewSpacer()))
	return widget.NewSimpleRenderer(container.NewStack(r.bg, container.New(layout.NewCustomPaddedLayout(6, 6, 8, 8), row)))
}

func (r *vmRow) Refresh() {
	switch {
	case r.selected:
		r.bg.FillColor = theme.Color(theme.ColorNameSelection)
	case r.hovered:
		r.bg.FillColor = theme.Color(theme.ColorNameHover)
	default:
		r.bg.FillColor = color.Transparent
	}
	r.bg.Refresh()
	r.BaseWidget.Refresh()
}

func (r *vmRow) Tapped(*fyne.PointEvent) {
	if r.onTap != nil {
		r.onTap()
	}
}

func (r *vmRow) MouseIn(*desktop.MouseEvent)    { r.hovered = true; r.Refresh() }
func (r *vmRow) MouseMoved(*desktop.MouseEvent) {}
func (r *vmRow) MouseOut()                      { r.hovered = false; r.Refresh() }

var (
	_ fyne.Tappable     = (*vmRow)(nil)
	_ desktop.Hoverable = (*vmRow)(nil)
)

// choiceCard is a large option in the create wizard: an icon, a title and a
// sentence. A disabled card says why in its sentence.
type choiceCard struct {
	widget.BaseWidget
	title    string
	onTap    func()
	disabled bool
	hovered  bool

	bg   *canvas.Rectangle
	icon *canvas.Image
	head *widget.Label
	body *widget.Label
}

func newChoiceCard(icon *canvas.Image, title, sentence string, onTap func()) *choiceCard {
	c := &choiceCard{title: title, onTap: onTap}
	c.bg = canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	c.bg.CornerRadius = 10
	c.bg.StrokeWidth = 1
	c.icon = icon
	c.head = widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	c.body = widget.NewLabel(sentence)
	c.body.Wrapping = fyne.TextWrapWord
	c.body.Importance = widget.LowImportance
	c.ExtendBaseWidget(c)
	return c
}

// disable greys the card out and shows why.
func (c *choiceCard) disable(why string) {
	c.disabled = true
	c.body.SetText(why)
	c.Refresh()
}

func (c *choiceCard) CreateRenderer() fyne.WidgetRenderer {
	text := container.New(layout.NewCustomPaddedVBoxLayout(-6), c.head, c.body)
	row := container.NewBorder(nil, nil, container.NewCenter(c.icon), nil, text)
	return widget.NewSimpleRenderer(container.NewStack(c.bg, container.New(layout.NewCustomPaddedLayout(8, 8, 12, 12), row)))
}

func (c *choiceCard) Refresh() {
	c.bg.FillColor = theme.Color(theme.ColorNameInputBackground)
	c.bg.StrokeColor = theme.Color(theme.ColorNameSeparator)
	if c.hovered && !c.disabled {
		c.bg.StrokeColor = theme.Color(theme.ColorNamePrimary)
	}
	c.bg.Refresh()
	c.icon.Translucency = 0
	c.head.Importance = widget.MediumImportance
	if c.disabled {
		c.icon.Translucency = 0.6
		c.head.Importance = widget.LowImportance
	}
	c.icon.Refresh()
	c.head.Refresh()
	c.BaseWidget.Refresh()
}

func (c *choiceCard) Tapped(*fyne.PointEvent) {
	if !c.disabled && c.onTap != nil {
		c.onTap()
	}
}

func (c *choiceCard) MouseIn(*desktop.MouseEvent)    { c.hovered = true; c.Refresh() }
func (c *choiceCard) MouseMoved(*desktop.MouseEvent) {}
func (c *choiceCard) MouseOut()                      { c.hovered = false; c.Refresh() }

var (
	_ fyne.Tappable     = (*choiceCard)(nil)
	_ desktop.Hoverable = (*choiceCard)(nil)
)

// errorLabel is the line under a field that says what is wrong with it.
func errorLabel() *widget.Label {
	l := widget.NewLabel("")
	l.Importance = widget.DangerImportance
	l.Wrapping = fyne.TextWrapWord
	l.SizeName = theme.SizeNameCaptionText
	l.Hide()
	return l
}

// hintLabel is a quiet sentence under a field: why it is greyed out, or
// what it does.
func hintLabel(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Importance = widget.LowImportance
	l.Wrapping = fyne.TextWrapWord
	l.SizeName = theme.SizeNameCaptionText
	if text == "" {
		l.Hide()
	}
	return l
}

// setShown sets a label's text and hides it when there is none.
func setShown(l *widget.Label, text string) {
	l.SetText(text)
	if text == "" {
		l.Hide()
	} else {
		l.Show()
	}
}

// heading is a section title.
func heading(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.SizeName = theme.SizeNameSubHeadingText
	return l
}
