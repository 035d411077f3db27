package ipsw

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Entries every restore image (.ipsw) carries at the root of its zip archive.
const (
	buildManifestName = "BuildManifest.plist"
	restorePlistName  = "Restore.plist"
)

// maxRestorePlist bounds how much of Restore.plist is read: real ones are a
// few kilobytes; a bigger one is not worth parsing to give a nicer message.
const maxRestorePlist = 4 << 20

// CheckRestoreImageFile reports whether path looks like a macOS restore
// image: a zip archive holding BuildManifest.plist and Restore.plist, not made
// for an iPhone, iPad or other device. It reads the archive's directory and
// Restore.plist only, so it is quick even on a 15 GB file. Errors other than a
// missing or unreadable file are *InstallError matching ErrNotRestoreImage.
func CheckRestoreImageFile(path string) error {
	name := filepath.Base(path)
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("restore image %s: %w", path, err)
	}
	if info.IsDir() {
		return notRestoreImage(name, "it is a folder", nil)
	}
	archive, err := zip.OpenReader(path)
	if err != nil {
		if errors.Is(err, zip.ErrFormat) || errors.Is(err, io.ErrUnexpectedEOF) {
			return notRestoreImage(name, "it is not a zip archive", err)
		}
		return fmt.Errorf("restore image %s: %w", path, err)
	}
	defer archive.Close()

	var restorePlist *zip.File
	hasManifest := false
	for _, f := range archive.File {
		switch f.Name {
		case buildManifestName:
			hasManifest = true
		case restorePlistName:
			restorePlist = f
		}
	}
	switch {
	case !hasManifest && restorePlist == nil:
		return notRestoreImage(name, "it is a zip archive without "+buildManifestName+" or "+restorePlistName, nil)
	case !hasManifest:
		return notRestoreImage(name, "it has no "+buildManifestName, nil)
	case restorePlist == nil:
		return notRestoreImage(name, "it has no "+restorePlistName, nil)
	}
	if device := otherDeviceType(restorePlist); device != "" {
		return &InstallError{
			Sentence: fmt.Sprintf("%s is a restore image for %s, not a macOS restore image for a Mac", name, device),
			Hint:     "download a macOS restore image (a UniversalMac_…_Restore.ipsw file), or use \"latest\"",
			Kind:     ErrNotRestoreImage,
		}
	}
	return nil
}

func notRestoreImage(name, why string, cause error) error {
	return &InstallError{
		Sentence: fmt.Sprintf("%s is not a macOS restore image (.ipsw)", name),
		Hint:     "download the restore image from Apple (a UniversalMac_…_Restore.ipsw file), or use \"latest\"",
		Detail:   why,
		Kind:     ErrNotRestoreImage,
		Err:      cause,
	}
}

// isProductType reports whether s looks like one of Apple's model
// identifiers: letters, digits, a comma, digits ("iPhone15,2", "VirtualMac2,1").
func isProductType(s string) bool {
	letters := strings.TrimLeftFunc(s, func(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' })
	if letters == s {
		return false
	}
	major, minor, ok := strings.Cut(letters, ",")
	return ok && allDigits(major) && allDigits(minor)
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// otherDeviceType returns the kind of device a restore image is for when
// Restore.plist names only non-Mac product types ("iPhone15,2"), and "" when
// it names a Mac or can't tell: only a sure answer refuses a file.
func otherDeviceType(f *zip.File) string {
	rc, err := f.Open()
	if err != nil {
		return ""
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxRestorePlist))
	if err != nil || !bytes.HasPrefix(bytes.TrimSpace(data), []byte("<?xml")) {
		return "" // binary plists and unreadable entries: can't tell
	}
	var products []string
	dec := xml.NewDecoder(bytes.NewReader(data))
	inString := false
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			inString = t.Name.Local == "string"
		case xml.EndElement:
			inString = false
		case xml.CharData:
			if s := strings.TrimSpace(string(t)); inString && isProductType(s) {
				products = append(products, s)
			}
		}
	}
	if len(products) == 0 {
		return ""
	}
	for _, p := range products {
		if strings.HasPrefix(p, "Mac") || strings.HasPrefix(p, "VirtualMac") || strings.HasPrefix(p, "iMac") {
			return ""
		}
	}
	for _, family := range []string{"iPhone", "iPad", "iPod", "AppleTV", "Watch", "AudioAccessory", "RealityDevice"} {
		if strings.HasPrefix(products[0], family) {
			return family
		}
	}
	return ""
}
