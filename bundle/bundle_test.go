package bundle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"howett.net/plist"
)

// The real Info.plist and entitlements, as `make app` uses them.
const (
	realInfoPlist    = "../Info.plist"
	realEntitlements = "vivarium.entitlements"
)

func TestAssembleMakesAnAppAroundAStandInBinary(t *testing.T) {
	out := filepath.Join(t.TempDir(), "build")
	binary := standIn(t, "vivarium stand-in")

	appPath, err := Assemble(Options{Binary: binary, OutDir: out, InfoPlist: realInfoPlist})
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	if want := filepath.Join(out, "Vivarium.app"); appPath != want {
		t.Fatalf("app at %s, want %s", appPath, want)
	}
	contents := filepath.Join(appPath, "Contents")

	var info map[string]any
	readPlist(t, filepath.Join(contents, "Info.plist"), &info)
	for key, want := range map[string]any{
		"CFBundleIdentifier":          "org.vivarium.Vivarium",
		"CFBundleName":                "Vivarium",
		"CFBundleDisplayName":         "Vivarium",
		"CFBundleExecutable":          "vivarium",
		"CFBundlePackageType":         "APPL",
		"CFBundleIconFile":            "Vivarium",
		"LSMinimumSystemVersion":      "13.0",
		"LSApplicationCategoryType":   "public.app-category.developer-tools",
		"NSHighResolutionCapable":     true,
		"NSSupportsSuddenTermination": false,
	} {
		if got := info[key]; got != want {
			t.Errorf("Info.plist %s = %#v, want %#v", key, got, want)
		}
	}
	for _, key := range []string{"CFBundleShortVersionString", "CFBundleVersion", "NSHumanReadableCopyright"} {
		if s, _ := info[key].(string); s == "" {
			t.Errorf("Info.plist %s is missing", key)
		}
	}

	// The executable Info.plist names is there, executable, and runs.
	exe := filepath.Join(contents, "MacOS", info["CFBundleExecutable"].(string))
	st, err := os.Stat(exe)
	if err != nil {
		t.Fatalf("executable: %v", err)
	}
	if st.Mode().Perm() != 0o755 {
		t.Errorf("executable mode %v, want -rwxr-xr-x", st.Mode().Perm())
	}
	if runtime.GOOS != "windows" {
		got, err := exec.Command(exe).Output()
		if err != nil {
			t.Fatalf("run the bundled executable: %v", err)
		}
		if strings.TrimSpace(string(got)) != "vivarium stand-in" {
			t.Errorf("bundled executable printed %q: not the binary given", got)
		}
	}

	pkgInfo, err := os.ReadFile(filepath.Join(contents, "PkgInfo"))
	if err != nil || string(pkgInfo) != "APPL????" {
		t.Errorf("PkgInfo = %q, %v; want \"APPL????\"", pkgInfo, err)
	}

	// The icon Info.plist names is a real .icns with every size in it.
	icns, err := os.ReadFile(filepath.Join(contents, "Resources", info["CFBundleIconFile"].(string)+".icns"))
	if err != nil {
		t.Fatalf("icon file named by CFBundleIconFile: %v", err)
	}
	checkICNS(t, icns)

	// Nothing but the .app is left in the output directory.
	if names := dirNames(t, out); !slices.Equal(names, []string{"Vivarium.app"}) {
		t.Errorf("output directory holds %q, want just Vivarium.app", names)
	}
}

// checkICNS parses an .icns back and checks it holds, for every member an app
// icon needs, a PNG of the right size that decodes and is not blank.
func checkICNS(t *testing.T, data []byte) {
	t.Helper()
	members, err := readICNS(data)
	if err != nil {
		t.Fatalf("parse .icns: %v", err)
	}
	want := map[string]int{
		"icp4": 16, "icp5": 32, "icp6": 64, "ic07": 128, "ic08": 256, "ic09": 512, "ic10": 1024,
		"ic11": 32, "ic12": 64, "ic13": 256, "ic14": 512,
	}
	var kinds []string
	for _, m := range members {
		kinds = append(kinds, m.kind)
		if m.kind == "TOC " {
			continue
		}
		size, ok := want[m.kind]
		if !ok {
			t.Errorf("unexpected .icns member %q", m.kind)
			continue
		}
		img, err := png.Decode(bytes.NewReader(m.data))
		if err != nil {
			t.Errorf("%s: not a PNG: %v", m.kind, err)
			continue
		}
		if b := img.Bounds(); b.Dx() != size || b.Dy() != size {
			t.Errorf("%s is %dx%d, want %dx%d", m.kind, b.Dx(), b.Dy(), size, size)
		}
		if _, _, _, a := img.At(size/2, size/2).RGBA(); a == 0 {
			t.Errorf("%s is blank in the middle", m.kind)
		}
	}
	for kind := range want {
		if !slices.Contains(kinds, kind) {
			t.Errorf(".icns has no %s member (%d px)", kind, want[kind])
		}
	}
	if len(kinds) == 0 || kinds[0] != "TOC " {
		t.Errorf(".icns members %q: want a table of contents first", kinds)
	}
}

func TestEncodeICNSTableOfContentsMatchesMembers(t *testing.T) {
	var buf bytes.Buffer
	if err := EncodeICNS(&buf, plainIcon); err != nil {
		t.Fatalf("EncodeICNS: %v", err)
	}
	members, err := readICNS(buf.Bytes())
	if err != nil {
		t.Fatalf("parse .icns: %v", err)
	}
	toc := members[0].data
	if len(toc) != 8*(len(members)-1) {
		t.Fatalf("table of contents has %d bytes for %d members", len(toc), len(members)-1)
	}
	for i, m := range members[1:] {
		kind := string(toc[i*8 : i*8+4])
		length := binary.BigEndian.Uint32(toc[i*8+4:])
		if kind != m.kind || int(length) != 8+len(m.data) {
			t.Errorf("table of contents entry %d is %q/%d, member is %q/%d", i, kind, length, m.kind, 8+len(m.data))
		}
	}
}

func TestEncodeICNSRejectsAWronglySizedDrawing(t *testing.T) {
	wrong := func(int) image.Image { return image.NewNRGBA(image.Rect(0, 0, 10, 10)) }
	err := EncodeICNS(&bytes.Buffer{}, wrong)
	if err == nil || !strings.Contains(err.Error(), "want 16x16") {
		t.Fatalf("EncodeICNS with 10x10 drawings: %v, want an error naming the size wanted", err)
	}
}

func TestAssembleTwiceReplacesTheOldApp(t *testing.T) {
	out := t.TempDir()
	first, err := Assemble(Options{Binary: standIn(t, "first"), OutDir: out, InfoPlist: realInfoPlist, Icon: plainIcon})
	if err != nil {
		t.Fatalf("first Assemble: %v", err)
	}
	// Something the second build does not make must not survive it.
	stale := filepath.Join(first, "Contents", "Resources", "stale.txt")
	if err := os.WriteFile(stale, []byte("left over"), 0o644); err != nil {
		t.Fatal(err)
	}

	second, err := Assemble(Options{Binary: standIn(t, "second"), OutDir: out, InfoPlist: realInfoPlist, Icon: plainIcon})
	if err != nil {
		t.Fatalf("second Assemble: %v", err)
	}
	if second != first {
		t.Fatalf("second app at %s, first at %s", second, first)
	}
	exe, err := os.ReadFile(filepath.Join(second, "Contents", "MacOS", "vivarium"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(exe), "second") {
		t.Errorf("the .app still holds the first binary:\n%s", exe)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file from the first .app survived the second: %v", err)
	}
	if names := dirNames(t, out); !slices.Equal(names, []string{"Vivarium.app"}) {
		t.Errorf("output directory holds %q, want just Vivarium.app", names)
	}
}

func TestAssembleRejectsBadInputAndLeavesNothingBehind(t *testing.T) {
	plistWith := func(t *testing.T, change func(string) string) string {
		data, err := os.ReadFile(realInfoPlist)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "Info.plist")
		if err := os.WriteFile(path, []byte(change(string(data))), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	replace := func(old, new string) func(string) string {
		return func(s string) string {
			if !strings.Contains(s, old) {
				panic(fmt.Sprintf("Info.plist has no %q", old))
			}
			return strings.Replace(s, old, new, 1)
		}
	}
	tests := []struct {
		name    string
		binary  func(t *testing.T) string
		plist   func(t *testing.T) string
		wantErr string
	}{
		{
			name:    "missing binary",
			binary:  func(t *testing.T) string { return filepath.Join(t.TempDir(), "vivarium") },
			wantErr: "build it first",
		},
		{
			name:    "binary is a directory",
			binary:  func(t *testing.T) string { return t.TempDir() },
			wantErr: "not a regular file",
		},
		{
			name:    "missing Info.plist",
			plist:   func(t *testing.T) string { return filepath.Join(t.TempDir(), "Info.plist") },
			wantErr: "read Info.plist",
		},
		{
			name: "Info.plist is not a property list",
			plist: func(t *testing.T) string {
				return plistWith(t, func(string) string { return "<plist><dict><key>oops" })
			},
			wantErr: "not a property list",
		},
		{
			name: "Info.plist without an executable",
			plist: func(t *testing.T) string {
				return plistWith(t, replace("<key>CFBundleExecutable</key>", "<key>Executable</key>"))
			},
			wantErr: "CFBundleExecutable is missing",
		},
		{
			name: "executable name with a slash",
			plist: func(t *testing.T) string {
				return plistWith(t, replace("<string>vivarium</string>", "<string>../vivarium</string>"))
			},
			wantErr: "plain file name",
		},
		{
			name: "not an application",
			plist: func(t *testing.T) string {
				return plistWith(t, replace("<string>APPL</string>", "<string>FMWK</string>"))
			},
			wantErr: `an application's is "APPL"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{
				Binary:    standIn(t, "vivarium"),
				OutDir:    filepath.Join(t.TempDir(), "build"),
				InfoPlist: realInfoPlist,
				Icon:      plainIcon,
			}
			if tt.binary != nil {
				opts.Binary = tt.binary(t)
			}
			if tt.plist != nil {
				opts.InfoPlist = tt.plist(t)
			}
			app, err := Assemble(opts)
			if err == nil {
				t.Fatalf("Assemble made %s, want an error", app)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not say %q", err, tt.wantErr)
			}
			if _, err := os.Stat(opts.OutDir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the output directory was made (%v) though Assemble failed; it holds %q", err, dirNames(t, opts.OutDir))
			}
		})
	}
}

func TestFailedAssembleKeepsThePreviousApp(t *testing.T) {
	out := t.TempDir()
	app, err := Assemble(Options{Binary: standIn(t, "good"), OutDir: out, InfoPlist: realInfoPlist, Icon: plainIcon})
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	_, err = Assemble(Options{Binary: filepath.Join(out, "no-such-binary"), OutDir: out, InfoPlist: realInfoPlist, Icon: plainIcon})
	if err == nil {
		t.Fatal("Assemble with a missing binary succeeded")
	}
	exe, err := os.ReadFile(filepath.Join(app, "Contents", "MacOS", "vivarium"))
	if err != nil || !strings.Contains(string(exe), "good") {
		t.Errorf("the previous .app was damaged: %q, %v", exe, err)
	}
	if names := dirNames(t, out); !slices.Equal(names, []string{"Vivarium.app"}) {
		t.Errorf("output directory holds %q, want just Vivarium.app", names)
	}
}

func TestEntitlementsGrantVirtualizationAndNothingRestricted(t *testing.T) {
	var entitlements map[string]any
	readPlist(t, realEntitlements, &entitlements)
	if granted, _ := entitlements["com.apple.security.virtualization"].(bool); !granted {
		t.Errorf("com.apple.security.virtualization = %#v, want true: without it no VM starts", entitlements["com.apple.security.virtualization"])
	}
	// Restricted entitlements need a provisioning profile: an ad-hoc
	// signed app that claims one is killed at launch.
	if _, ok := entitlements["com.apple.vm.networking"]; ok {
		t.Error("entitlements claim com.apple.vm.networking, which is restricted: an ad-hoc signed app with it does not launch")
	}
	if len(entitlements) != 1 {
		t.Errorf("entitlements %v: want only the virtualization one", entitlements)
	}
}

type icnsEntry struct {
	kind string
	data []byte
}

// readICNS splits an .icns file into its members.
func readICNS(data []byte) ([]icnsEntry, error) {
	if len(data) < 8 || string(data[:4]) != "icns" {
		return nil, errors.New("no icns header")
	}
	if total := binary.BigEndian.Uint32(data[4:]); int(total) != len(data) {
		return nil, fmt.Errorf("header says %d bytes, file has %d", total, len(data))
	}
	var members []icnsEntry
	for rest := data[8:]; len(rest) > 0; {
		if len(rest) < 8 {
			return nil, fmt.Errorf("%d stray bytes at the end", len(rest))
		}
		kind, length := string(rest[:4]), binary.BigEndian.Uint32(rest[4:])
		if length < 8 || int(length) > len(rest) {
			return nil, fmt.Errorf("member %q claims %d bytes, %d left", kind, length, len(rest))
		}
		members = append(members, icnsEntry{kind, rest[8:length]})
		rest = rest[length:]
	}
	return members, nil
}

// standIn writes a stand-in for the vivarium binary: a script that prints
// what it was given. It is written without execute permission, so that the
// .app's executable bit is Assemble's doing.
func standIn(t *testing.T, says string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vivarium")
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho '"+says+"'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// plainIcon stands in for the real drawing where the icon is not the point.
func plainIcon(pixels int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, pixels, pixels))
	for i := range pixels * pixels {
		img.SetNRGBA(i%pixels, i/pixels, color.NRGBA{R: 0x20, G: 0x80, B: 0x60, A: 0xff})
	}
	return img
}

func readPlist(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plist.Unmarshal(data, v); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
