package ipswtest

import (
	"archive/zip"
	"fmt"
	"os"
	"sort"
	"strings"
)

// WriteRestoreImage writes a small zip shaped like a restore image: a
// BuildManifest.plist and a Restore.plist listing productTypes (a Mac's
// "VirtualMac2,1" when none are given). It is not installable; it passes
// ipsw.CheckRestoreImageFile.
func WriteRestoreImage(path string, productTypes ...string) error {
	if len(productTypes) == 0 {
		productTypes = []string{"VirtualMac2,1"}
	}
	var types strings.Builder
	for _, p := range productTypes {
		fmt.Fprintf(&types, "\t\t<string>%s</string>\n", p)
	}
	restore := `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>ProductBuildVersion</key>
	<string>24A335</string>
	<key>ProductVersion</key>
	<string>15.0</string>
	<key>SupportedProductTypes</key>
	<array>
` + types.String() + `	</array>
</dict>
</plist>
`
	manifest := `<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>ProductVersion</key><string>15.0</string></dict></plist>
`
	return WriteZip(path, map[string]string{
		"BuildManifest.plist": manifest,
		"Restore.plist":       restore,
	})
}

// WriteZip writes a zip archive holding files (name to content).
func WriteZip(path string, files map[string]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w, err := zw.Create(name)
		if err == nil {
			_, err = w.Write([]byte(files[name]))
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("%s: %s: %w", path, name, err)
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
