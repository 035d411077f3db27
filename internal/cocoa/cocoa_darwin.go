//go:build darwin

package cocoa

import (
	"strings"

	"github.com/progrium/darwinkit/macos/foundation"
	"github.com/progrium/darwinkit/macos/uti"
	"github.com/progrium/darwinkit/objc"
)

// AppKit constants Vivarium uses (NSApplicationActivationPolicy,
// NSModalResponse).
const (
	activationPolicyProhibited = 2
	modalResponseOK            = 1
)

// app is NSApp, made if need be. On a runner, call it only from inside
// vz's event loop: made earlier, a plain NSApplication would take the
// place of vz's VZApplication.
func app() objc.Object {
	return objc.Call[objc.Object](objc.GetClass("NSApplication"), objc.Sel("sharedApplication"))
}

// SetAppIcon makes the PNG (or any image AppKit reads) this process's
// Dock icon.
func SetAppIcon(image []byte) {
	img := objc.Call[objc.Object](objc.GetClass("NSImage"), objc.Sel("alloc"))
	img = objc.Call[objc.Object](img, objc.Sel("initWithData:"), image)
	if img.IsNil() {
		return
	}
	objc.Call[objc.Void](app(), objc.Sel("setApplicationIconImage:"), img)
	img.Release()
}

// Terminate ends the application's event loop ([NSApp terminate:nil]).
func Terminate() {
	objc.Call[objc.Void](app(), objc.Sel("terminate:"), nil)
}

// HideFromDock removes this process's Dock icon and menu bar: for a
// process that has no window any more but still has work to finish.
func HideFromDock() {
	objc.Call[bool](app(), objc.Sel("setActivationPolicy:"), activationPolicyProhibited)
}

// SetDockBadge shows label on this process's Dock icon; "" removes it.
func SetDockBadge(label string) {
	tile := objc.Call[objc.Object](app(), objc.Sel("dockTile"))
	objc.Call[objc.Void](tile, objc.Sel("setBadgeLabel:"), label)
}

// Reveal selects path in a Finder window.
func Reveal(path string) {
	ws := objc.Call[objc.Object](objc.GetClass("NSWorkspace"), objc.Sel("sharedWorkspace"))
	urls := []foundation.URL{foundation.URL_FileURLWithPath(path)}
	objc.Call[objc.Void](ws, objc.Sel("activateFileViewerSelectingURLs:"), urls)
}

// Choose shows the open panel (NSOpenPanel) with message title, for one
// folder or for one file with one of extensions (any file when empty). It
// browses into packages, so a file inside a .vm or .utm folder can be
// chosen. It returns the chosen path, or "" when cancelled.
func Choose(title string, folders bool, extensions []string) string {
	p := objc.Call[objc.Object](objc.GetClass("NSOpenPanel"), objc.Sel("openPanel"))
	objc.Call[objc.Void](p, objc.Sel("setCanChooseFiles:"), !folders)
	objc.Call[objc.Void](p, objc.Sel("setCanChooseDirectories:"), folders)
	objc.Call[objc.Void](p, objc.Sel("setAllowsMultipleSelection:"), false)
	objc.Call[objc.Void](p, objc.Sel("setResolvesAliases:"), true)
	objc.Call[objc.Void](p, objc.Sel("setTreatsFilePackagesAsDirectories:"), true)
	objc.Call[objc.Void](p, objc.Sel("setMessage:"), title)
	objc.Call[objc.Void](p, objc.Sel("setPrompt:"), "Choose")
	var types []uti.Type
	for _, ext := range extensions {
		if t := uti.Type_TypeWithFilenameExtension(strings.TrimPrefix(ext, ".")); !t.IsNil() {
			types = append(types, t)
		}
	}
	if len(types) > 0 {
		objc.Call[objc.Void](p, objc.Sel("setAllowedContentTypes:"), types)
	}
	if objc.Call[int](p, objc.Sel("runModal")) != modalResponseOK {
		return ""
	}
	return objc.Call[foundation.URL](p, objc.Sel("URL")).Path()
}
