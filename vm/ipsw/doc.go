// Package ipsw gets macOS restore images (.ipsw files) ready for installation:
// it resolves where an image comes from ("latest", an https URL, a local
// file), downloads it resumably into the library's cache, checks that a file
// is a restore image, and turns the Virtualization framework's installation
// failures into sentences that say what to do.
//
// It is pure Go (no cgo) and builds for every GOOS, so all of it is tested on
// Linux; only the vz backend calls Apple's APIs and hands their errors here.
package ipsw
