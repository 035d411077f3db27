// Package bundle assembles and signs Vivarium.app: the layout macOS expects
// around the vivarium binary, its Info.plist, its icon (drawn by package
// assets) and its ad-hoc signature with the virtualization entitlement.
//
// Assembly is plain Go and runs anywhere, so it is tested on Linux around any
// binary; signing needs macOS's codesign.
package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"howett.net/plist"

	"github.com/vivarium-vm/vivarium/assets"
)

// Options say what to put in the .app and where.
type Options struct {
	// Binary is the executable to install, normally the darwin build of
	// ./app. Any file will do for a test bundle.
	Binary string
	// OutDir is where <CFBundleName>.app is made; it is created if missing.
	OutDir string
	// InfoPlist is the app's Info.plist. It names the bundle, the
	// executable's file name and the icon's, and is copied unchanged.
	InfoPlist string
	// Icon draws the icon at a size in pixels; nil means assets.Icon.
	Icon func(pixels int) image.Image
}

// The file names inside a .app.
const (
	contentsDir  = "Contents"
	macOSDir     = "MacOS"
	resourcesDir = "Resources"
	infoFile     = "Info.plist"
	pkgInfoFile  = "PkgInfo"
	icnsExt      = ".icns"
	appExt       = ".app"
)

// info is what Assemble needs from Info.plist.
type info struct {
	Identifier  string `plist:"CFBundleIdentifier"`
	Name        string `plist:"CFBundleName"`
	Executable  string `plist:"CFBundleExecutable"`
	IconFile    string `plist:"CFBundleIconFile"`
	PackageType string `plist:"CFBundlePackageType"`
	Signature   string `plist:"CFBundleSignature"`
}

// Assemble makes <OutDir>/<CFBundleName>.app:
//
//	Contents/Info.plist               opts.InfoPlist, unchanged
//	Contents/PkgInfo                  package type and signature
//	Contents/MacOS/<CFBundleExecutable>  opts.Binary, mode 0755
//	Contents/Resources/<CFBundleIconFile>.icns
//
// It checks its inputs before touching OutDir, builds the .app in a
// temporary directory beside it and renames it into place, replacing an
// earlier one, so the .app is never seen half made. It returns the .app's
// path.
func Assemble(opts Options) (string, error) {
	plistData, app, err := readInfo(opts.InfoPlist)
	if err != nil {
		return "", err
	}
	if err := checkBinary(opts.Binary); err != nil {
		return "", err
	}
	draw := opts.Icon
	if draw == nil {
		draw = assets.Icon
	}
	var icns bytes.Buffer
	if err := EncodeICNS(&icns, draw); err != nil {
		return "", fmt.Errorf("make %s%s: %w", app.IconFile, icnsExt, err)
	}
	if opts.OutDir == "" {
		return "", errors.New("assemble the .app: no output directory given")
	}

	appPath := filepath.Join(opts.OutDir, app.Name+appExt)
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return "", fmt.Errorf("make output directory: %w", err)
	}
	tmp, err := os.MkdirTemp(opts.OutDir, "."+app.Name+appExt+".tmp-")
	if err != nil {
		return "", fmt.Errorf("assemble %s: %w", appPath, err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed into place
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("assemble %s: %w", appPath, err)
	}

	contents := filepath.Join(tmp, contentsDir)
	for _, dir := range []string{macOSDir, resourcesDir} {
		if err := os.MkdirAll(filepath.Join(contents, dir), 0o755); err != nil {
			return "", fmt.Errorf("assemble %s: %w", appPath, err)
		}
	}
	files := []struct {
		path string
		mode fs.FileMode
		from func(io.Writer) error
	}{
		{filepath.Join(contents, infoFile), 0o644, bytesFrom(plistData)},
		{filepath.Join(contents, pkgInfoFile), 0o644, bytesFrom([]byte(app.PackageType + app.Signature))},
		{filepath.Join(contents, macOSDir, app.Executable), 0o755, fileFrom(opts.Binary)},
		{filepath.Join(contents, resourcesDir, app.IconFile+icnsExt), 0o644, bytesFrom(icns.Bytes())},
	}
	for _, f := range files {
		if err := writeFile(f.path, f.mode, f.from); err != nil {
			return "", fmt.Errorf("assemble %s: %w", appPath, err)
		}
	}
	if err := replaceDir(tmp, appPath); err != nil {
		return "", err
	}
	return appPath, nil
}

// readInfo reads an Info.plist and checks that it names what Assemble
// installs, so the .app it makes is one macOS will launch.
func readInfo(path string) ([]byte, info, error) {
	var app info
	if path == "" {
		return nil, app, errors.New("assemble the .app: no Info.plist given")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, app, fmt.Errorf("read Info.plist: %w", err)
	}
	if _, err := plist.Unmarshal(data, &app); err != nil {
		return nil, app, fmt.Errorf("%s is not a property list: %w", path, err)
	}
	app.IconFile = strings.TrimSuffix(app.IconFile, icnsExt)
	required := []struct{ key, value string }{
		{"CFBundleIdentifier", app.Identifier},
		{"CFBundleName", app.Name},
		{"CFBundleExecutable", app.Executable},
		{"CFBundleIconFile", app.IconFile},
		{"CFBundlePackageType", app.PackageType},
	}
	for _, r := range required {
		if r.value == "" {
			return nil, app, fmt.Errorf("%s: %s is missing or empty; macOS needs it to launch the app", path, r.key)
		}
	}
	for _, r := range []struct{ key, value string }{
		{"CFBundleName", app.Name},
		{"CFBundleExecutable", app.Executable},
		{"CFBundleIconFile", app.IconFile},
	} {
		if strings.ContainsAny(r.value, `/\`) || r.value == "." || r.value == ".." {
			return nil, app, fmt.Errorf("%s: %s is %q; it must be a plain file name", path, r.key, r.value)
		}
	}
	if app.PackageType != "APPL" {
		return nil, app, fmt.Errorf("%s: CFBundlePackageType is %q; an application's is \"APPL\"", path, app.PackageType)
	}
	if app.Signature == "" {
		app.Signature = "????"
	}
	if len(app.Signature) != 4 {
		return nil, app, fmt.Errorf("%s: CFBundleSignature is %q; it must be four characters (\"????\" for none)", path, app.Signature)
	}
	return data, app, nil
}

func checkBinary(path string) error {
	if path == "" {
		return errors.New("assemble the .app: no binary given (build one with `go build -o build/vivarium ./app`)")
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("binary to bundle: %w (build it first with `go build -o build/vivarium ./app`)", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("binary to bundle: %s is not a regular file", path)
	}
	return nil
}

func bytesFrom(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}
}

func fileFrom(path string) func(io.Writer) error {
	return func(w io.Writer) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	}
}

// writeFile creates path with exactly mode, whatever the umask, and syncs
// it. It copies contents only, never extended attributes: codesign refuses
// a bundle with Finder info or resource forks on its files.
func writeFile(path string, mode fs.FileMode, from func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if err := from(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// replaceDir renames the directory from to to, moving aside and then
// deleting whatever was at to. If the rename fails the old to is put back.
func replaceDir(from, to string) error {
	if _, err := os.Lstat(to); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(from, to); err != nil {
			return fmt.Errorf("move the new %s into place: %w", to, err)
		}
		return nil
	}
	trash, err := os.MkdirTemp(filepath.Dir(to), "."+filepath.Base(to)+".old-")
	if err != nil {
		return fmt.Errorf("replace %s: %w", to, err)
	}
	old := filepath.Join(trash, filepath.Base(to))
	if err := os.Rename(to, old); err != nil {
		os.Remove(trash)
		return fmt.Errorf("replace %s: move the old one aside: %w", to, err)
	}
	if err := os.Rename(from, to); err != nil {
		if restoreErr := os.Rename(old, to); restoreErr != nil {
			// Keep the old one where it is, and say where.
			return fmt.Errorf("replace %s: %w; putting the old one back failed too (%w): it is in %s", to, err, restoreErr, old)
		}
		os.Remove(trash)
		return fmt.Errorf("replace %s: %w", to, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("%s is in place, but removing the old one failed: %w (delete %s by hand)", to, err, trash)
	}
	return nil
}
