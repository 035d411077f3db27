// Package snapshot keeps named points in time of a VM: a folder per snapshot
// in the VM's snapshots/ holding copies (copy-on-write clones where the
// filesystem can) of every portable file of the VM, its thumbnail, and,
// for a snapshot taken live or of a suspended VM, its memory state.
//
// Nothing is ever half made: a snapshot is built in a hidden folder and
// renamed into place once its manifest (written last) is on disk; a
// restore stages the snapshot's files beside the VM's and commits them with
// a journal that Recover finishes after a crash.
package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
)

// ManifestVersion is the version of snapshot.json this package writes.
const ManifestVersion = 1

// Kinds of files in a snapshot beyond the VM's portable files.
const (
	KindMemory    vm.PortableKind = "memory"
	KindThumbnail vm.PortableKind = "thumbnail"
)

// Hidden working folders inside snapshots/.
const (
	takingPrefix   = ".taking-"
	deletingPrefix = ".deleting-"
)

// Sentinel errors.
var (
	// ErrNotFound means the VM has no snapshot of that name.
	ErrNotFound = errors.New("no such snapshot")
	// ErrExists means a snapshot of that name already exists.
	ErrExists = errors.New("a snapshot with that name already exists")
	// ErrBroken means a snapshot's files are damaged or missing.
	ErrBroken = errors.New("the snapshot is damaged")
)

// Manifest is snapshot.json: what a snapshot is and holds.
type Manifest struct {
	Version int       `json:"version"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// Memory is true when the snapshot holds the VM's memory state: a
	// restore then resumes the VM at the moment it was taken.
	Memory  bool   `json:"memory"`
	Backend string `json:"backend"`
	Files   []File `json:"files"`
}

// File is one file of a snapshot, named as it is in the VM's folder.
type File struct {
	Name string          `json:"name"`
	Kind vm.PortableKind `json:"kind"`
	Size int64           `json:"size"`
}

// Info is a snapshot as a list shows it. A broken one has Error set.
type Info struct {
	Name      string    `json:"name"`
	Dir       string    `json:"dir"`
	Created   time.Time `json:"created"`
	Memory    bool      `json:"memory"`
	Thumbnail string    `json:"thumbnail,omitempty"`
	// Allocated is the space its files take on disk (clones share theirs
	// with the VM until either side writes).
	Allocated vm.Size   `json:"allocated"`
	Error     string    `json:"error,omitempty"`
	Manifest  *Manifest `json:"-"`
}

// Broken reports whether the snapshot cannot be restored.
func (i *Info) Broken() bool { return i.Error != "" }

// ValidateName checks a snapshot name: the rules of a VM name (it is a
// folder name too).
func ValidateName(name string) error {
	if err := vm.ValidateName(name); err != nil {
		return fmt.Errorf("snapshot name: %w", err)
	}
	return nil
}

// DefaultName names a snapshot taken at t when the user gave no name.
func DefaultName(t time.Time) string { return t.Format("2006-01-02 15.04.05") }

// List returns the VM's snapshots, oldest first. A damaged snapshot is
// listed with its error; it never hides the others. Folders of snapshots
// that were never finished are not listed (the next snapshot removes them).
// List writes nothing, so a window may call it whenever the VM changes.
func List(b vm.Bundle) ([]*Info, error) {
	entries, err := os.ReadDir(b.SnapshotsDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("snapshots of %s: %w", b.Name(), err)
	}
	var infos []*Info
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		infos = append(infos, inspect(b, e.Name()))
	}
	sort.SliceStable(infos, func(i, j int) bool {
		if !infos[i].Created.Equal(infos[j].Created) {
			return infos[i].Created.Before(infos[j].Created)
		}
		return infos[i].Name < infos[j].Name
	})
	return infos, nil
}

// Inspect returns one snapshot; a damaged one has Info.Error set.
func Inspect(b vm.Bundle, name string) (*Info, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if _, err := os.Stat(b.SnapshotDir(name)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s has no snapshot %q: %w; see them with 'vivarium snapshots %s'", b.Name(), name, ErrNotFound, b.Name())
		}
		return nil, err
	}
	return inspect(b, name), nil
}

func inspect(b vm.Bundle, name string) *Info {
	dir := b.SnapshotDir(name)
	info := &Info{Name: name, Dir: dir}
	fail := func(format string, args ...any) *Info {
		info.Error = fmt.Sprintf(format, args...)
		return info
	}
	data, err := os.ReadFile(filepath.Join(dir, vm.SnapshotManifestFile))
	if err != nil {
		if st, serr := os.Stat(dir); serr == nil {
			info.Created = st.ModTime()
		}
		if errors.Is(err, fs.ErrNotExist) {
			return fail("%s is missing: the snapshot is incomplete; delete it", vm.SnapshotManifestFile)
		}
		return fail("%s: %v; delete the snapshot", vm.SnapshotManifestFile, err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return fail("%s is damaged (%v); delete the snapshot", vm.SnapshotManifestFile, err)
	}
	info.Manifest = &m
	info.Created = m.Created
	info.Memory = m.Memory
	if m.Version != ManifestVersion {
		return fail("%s has version %d; this Vivarium reads version %d: update Vivarium", vm.SnapshotManifestFile, m.Version, ManifestVersion)
	}
	for _, f := range m.Files {
		st, err := os.Stat(filepath.Join(dir, f.Name))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fail("%s is missing; delete the snapshot", f.Name)
			}
			return fail("%s: %v", f.Name, err)
		}
		if st.Size() != f.Size {
			return fail("%s is %d bytes, it was %d when the snapshot was taken; delete the snapshot", f.Name, st.Size(), f.Size)
		}
		if a, err := vm.Allocated(filepath.Join(dir, f.Name)); err == nil {
			info.Allocated += vm.Size(a)
		}
		if f.Kind == KindThumbnail {
			info.Thumbnail = filepath.Join(dir, f.Name)
		}
	}
	return info
}

// cleanUnfinished removes what a snapshot or delete that died left in
// snapshots/. The caller holds the VM's lock, so nobody works there.
func cleanUnfinished(b vm.Bundle) {
	entries, err := os.ReadDir(b.SnapshotsDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), takingPrefix) || strings.HasPrefix(e.Name(), deletingPrefix) {
			os.RemoveAll(filepath.Join(b.SnapshotsDir(), e.Name()))
		}
	}
}

// Delete removes a snapshot and frees its space. It may run while the VM
// runs: a snapshot shares no file the VM writes.
func Delete(b vm.Bundle, name string) error {
	if _, err := Inspect(b, name); err != nil {
		return err
	}
	gone, err := os.MkdirTemp(b.SnapshotsDir(), deletingPrefix)
	if err != nil {
		return fmt.Errorf("deleting snapshot %q: %w", name, err)
	}
	// Out of sight first, so a crash mid-delete never lists half a snapshot.
	if err := os.Rename(b.SnapshotDir(name), filepath.Join(gone, name)); err != nil {
		os.Remove(gone)
		return fmt.Errorf("deleting snapshot %q: %w", name, err)
	}
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("deleting snapshot %q: %w", name, err)
	}
	return nil
}

// copyFile copies one file of a snapshot: a clone where the filesystem can,
// else the regions holding data.
func copyFile(ctx context.Context, src, dst string) error {
	if _, err := vm.CopyDisk(ctx, src, dst, nil); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(src), err)
	}
	return nil
}
