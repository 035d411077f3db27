// Package cocoa is the few AppKit calls Vivarium makes on macOS: the Dock
// icon and badge, hiding from the Dock, ending the event loop, Finder and
// the open panel. They go through darwinkit's objc runtime package instead
// of its generated appkit package, which pulls in Metal, Core ML, Core
// Image, CloudKit and more: some Xcode SDKs refuse the generated protocol
// code of those (darwinkit issue #256, "cannot find protocol declaration"),
// and Vivarium needs none of them. Only objc, foundation and uti remain.
//
// Every function must be called on the main thread.
package cocoa
