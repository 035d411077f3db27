package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vivarium-vm/vivarium/vm"
)

// journal is the restore's commit record: the staged files that replace
// the VM's, and the VM's files the snapshot does not have.
type journal struct {
	Snapshot string   `json:"snapshot"`
	Files    []string `json:"files"`
	Remove   []string `json:"remove"`
}

// Restore turns a stopped VM back into the snapshot: its disks, stores and
// config become copies of the snapshot's (the snapshot stays as it is, for
// the next restore). With memory, the VM is then suspended at the moment of
// the snapshot and its next start resumes there; without, a saved state
// the VM had is dropped. What the VM had since is lost: ask first.
//
// The VM keeps its name and MAC address. The snapshot's files are staged in the VM's folder first and committed
// with a journal: a crash before the commit leaves the VM as it was, a
// crash after it is finished by Recover.
func Restore(ctx context.Context, b vm.Bundle, name string) (*Info, error) {
	lock, err := b.TryLock()
	if err != nil {
		return nil, fmt.Errorf("cannot restore %s while it runs: %w; stop it first", b.Name(), vm.ErrRunning)
	}
	defer lock.Unlock()
	if err := Recover(b); err != nil {
		return nil, err
	}
	info, err := Inspect(b, name)
	if err != nil {
		return nil, err
	}
	if info.Broken() {
		return nil, fmt.Errorf("cannot restore snapshot %q of %s: %w: %s", name, b.Name(), ErrBroken, info.Error)
	}
	stage := b.RestoringDir()
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return nil, fmt.Errorf("restoring %q: %w", name, err)
	}
	committed := false
	defer func() {
		if !committed {
			os.RemoveAll(stage)
		}
	}()
	j := journal{Snapshot: name}
	keep := map[string]bool{}
	for _, f := range info.Manifest.Files {
		src, dst := filepath.Join(info.Dir, f.Name), filepath.Join(stage, f.Name)
		if f.Kind == vm.PortableConfig {
			// The config as it was, under the VM's name now (it may have
			// been renamed since).
			c, err := vm.LoadConfig(src)
			if err != nil {
				return nil, fmt.Errorf("snapshot %q: %w: %w", name, ErrBroken, err)
			}
			c.Name = b.Name()
			// The MAC address is the VM's identity, like its name: a clone
			// carries its source's snapshots and keeps its own address.
			if cur, err := vm.LoadConfig(b.ConfigPath()); err == nil && cur.Network.MAC != "" && c.Network.Mode != vm.NetNone {
				c.Network.MAC = cur.Network.MAC
			}
			if err := vm.SaveConfig(dst, c); err != nil {
				return nil, fmt.Errorf("restoring %q: %w", name, err)
			}
		} else if err := copyFile(ctx, src, dst); err != nil {
			return nil, fmt.Errorf("restoring %q: %w", name, err)
		}
		j.Files = append(j.Files, f.Name)
		keep[f.Name] = true
	}
	for _, f := range currentFiles(b) {
		if !keep[f] {
			j.Remove = append(j.Remove, f)
		}
	}
	data, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	if err := syncDir(stage); err != nil {
		return nil, err
	}
	if err := vm.WriteFileAtomic(filepath.Join(stage, vm.RestoreCommitFile), data, 0o644); err != nil {
		return nil, fmt.Errorf("restoring %q: %w", name, err)
	}
	committed = true
	if err := Recover(b); err != nil {
		return nil, err
	}
	return info, nil
}

// currentFiles lists the VM's files a restore replaces or removes: its
// portable files and its saved state.
func currentFiles(b vm.Bundle) []string {
	var names []string
	if c, err := vm.LoadConfig(b.ConfigPath()); err == nil {
		if files, err := b.PortableFiles(c); err == nil {
			for _, f := range files {
				names = append(names, f.Name)
			}
		}
	}
	return append(names, vm.SavedStateFile)
}

// Recover finishes a restore that was committed but interrupted, and
// removes one that was not. The caller holds the VM's lock (a runner about
// to start the VM, or any snapshot operation).
func Recover(b vm.Bundle) error {
	stage := b.RestoringDir()
	data, err := os.ReadFile(filepath.Join(stage, vm.RestoreCommitFile))
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.RemoveAll(stage); err != nil {
			return fmt.Errorf("removing an unfinished restore of %s: %w", b.Name(), err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("finishing the restore of %s: %w", b.Name(), err)
	}
	var j journal
	if err := json.Unmarshal(data, &j); err != nil {
		// WriteFileAtomic never leaves a torn record: this is damage.
		return fmt.Errorf("finishing the restore of %s: %s is damaged (%w); restore the snapshot again", b.Name(), vm.RestoreCommitFile, err)
	}
	for _, f := range j.Remove {
		if err := os.Remove(filepath.Join(b.Dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("finishing the restore of %s: %w", b.Name(), err)
		}
	}
	for _, f := range j.Files {
		err := os.Rename(filepath.Join(stage, f), filepath.Join(b.Dir, f))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("finishing the restore of %s: %w", b.Name(), err)
		}
	}
	if err := syncDir(b.Dir); err != nil {
		return err
	}
	return os.RemoveAll(stage)
}
