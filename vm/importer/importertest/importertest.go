// Package importertest builds real sources for import tests: disk images
// made by qemu-img with known contents, and bundles laid out as UTM, Tart
// and VirtualBuddy lay theirs out, and finds the shared fixtures.
package importertest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"howett.net/plist"
)

// FixturesDir is the shared import fixtures: $VIVARIUM_FIXTURES when set,
// else shared/fixtures/import beside the module root (CI checks shared/ out
// beside the clone) or beside the main checkout of a git worktree. The test
// fails, saying so, when none is there.
func FixturesDir(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatalf("no go.mod above %s", file)
		}
		root = parent
	}
	rel := filepath.Join("shared", "fixtures", "import")
	candidates := []string{os.Getenv("VIVARIUM_FIXTURES"), filepath.Join(filepath.Dir(root), rel)}
	if out, err := exec.Command("git", "-C", root, "rev-parse", "--path-format=absolute", "--git-common-dir").Output(); err == nil {
		main := filepath.Dir(strings.TrimSpace(string(out))) // the main checkout, for a worktree
		candidates = append(candidates, filepath.Join(filepath.Dir(main), rel))
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(c, "README.md")); err == nil {
			return c
		}
	}
	t.Fatalf("the import fixtures are missing: looked in %s; they live in ../shared/fixtures/import beside the module (CI checks shared/ out there), or set VIVARIUM_FIXTURES", strings.Join(candidates[1:], ", "))
	return ""
}

// RequireQEMUImg skips when qemu-img is missing, saying how to get it.
func RequireQEMUImg(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img not found: install it (Debian: apt-get install qemu-utils) to run the import tests")
	}
}

// RawDisk writes a raw disk of size bytes at path with a recognisable
// pattern (seed) in a few places and holes elsewhere, and returns its bytes'
// SHA-256.
func RawDisk(t testing.TB, path string, size int64, seed string) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	block := bytes.Repeat([]byte(seed+"\n"), 4096/(len(seed)+1)+1)[:4096]
	for _, off := range []int64{0, size / 3, size/2 + 512, size - 4096} {
		if _, err := f.WriteAt(block, off&^511); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return FileSum(t, path)
}

// Image makes a disk image of format (qcow2, vmdk, vdi, vhdx, vpc, raw)
// at path holding RawDisk's pattern, and returns the raw bytes' SHA-256.
// extra are qemu-img convert options such as "-o", "subformat=...".
func Image(t testing.TB, path, format string, size int64, seed string, extra ...string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	raw := filepath.Join(t.TempDir(), "src.raw")
	sum := RawDisk(t, raw, size, seed)
	if format == "raw" {
		if err := os.Rename(raw, path); err != nil {
			t.Fatal(err)
		}
		return sum
	}
	args := append([]string{"convert", "-f", "raw", "-O", format}, extra...)
	if out, err := exec.Command("qemu-img", append(args, raw, path)...).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert to %s: %v\n%s", format, err, out)
	}
	return sum
}

// FileSum is the SHA-256 of a file's bytes.
func FileSum(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TreeSum is a checksum of every file's name, mode, modification time and
// bytes under dir: it changes if anything in the tree is written.
func TreeSum(t testing.TB, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		io.WriteString(h, rel+"\x00"+st.Mode().String()+"\x00"+st.ModTime().String()+"\x00")
		if d.Type().IsRegular() {
			io.WriteString(h, FileSum(t, path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// WritePlist writes v as a property list (plist.XMLFormat or
// plist.BinaryFormat) to path, making its folder.
func WritePlist(t testing.TB, path string, v any, format int) {
	t.Helper()
	data, err := plist.Marshal(v, format)
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(t, path, data)
}

// WriteFile writes data to path, making its folder.
func WriteFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// CopyFile copies a fixture file to dst, making its folder.
func CopyFile(t testing.TB, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(t, dst, data)
}

// Identity is a made-up macOS identity: the hardware model and machine
// identifier as binary plists, like vz's dataRepresentation.
func Identity(t testing.TB) (model, id []byte) {
	t.Helper()
	var err error
	model, err = plist.Marshal(map[string]any{"DataRepresentationVersion": 2, "PlatformVersion": 2, "MinimumSupportedOS": []int{14, 0, 0}}, plist.BinaryFormat)
	if err != nil {
		t.Fatal(err)
	}
	id, err = plist.Marshal(map[string]any{"ECID": uint64(0x1234abcd5678)}, plist.BinaryFormat)
	if err != nil {
		t.Fatal(err)
	}
	return model, id
}

// UTMBundle lays out a UTM 4 QEMU bundle named name (x86_64, 3 CPUs,
// 3 GiB, a 16 MiB raw disk, a TPM that does not come over) as UTM writes
// one, in a new temporary folder, and returns its path and the disk's
// checksum.
func UTMBundle(t testing.TB, name string) (path, diskSum string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), name+".utm")
	sum := Image(t, filepath.Join(src, "Data", "3F2A-DISK.img"), "raw", 16<<20, name)
	WritePlist(t, filepath.Join(src, "config.plist"), map[string]any{
		"Backend": "QEMU", "ConfigurationVersion": 4,
		"Information": map[string]any{"Name": name, "Icon": "debian", "IconCustom": false, "UUID": "1C9F1B1E-2222-4333-8444-555566667777"},
		"System":      map[string]any{"Architecture": "x86_64", "Target": "q35", "CPU": "default", "CPUCount": 3, "MemorySize": 3072},
		"QEMU":        map[string]any{"UEFIBoot": true, "PS2Controller": true, "TPMDevice": true},
		"Drive":       []any{map[string]any{"Identifier": "3F2A", "ImageName": "3F2A-DISK.img", "ImageType": "Disk", "Interface": "VirtIO"}},
		"Display":     []any{map[string]any{"Hardware": "virtio-vga"}},
		"Network":     []any{map[string]any{"Mode": "Emulated", "Hardware": "virtio-net-pci", "MacAddress": "AA:BB:CC:00:11:22"}},
		"Sharing":     map[string]any{"ClipboardSharing": true, "DirectoryShareMode": "None"},
		"Sound":       []any{},
	}, plist.XMLFormat)
	return src, sum
}
