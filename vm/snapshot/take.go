package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
)

// Options adjust Take and TakeLive.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Result says what taking a snapshot did.
type Result struct {
	Info *Info
	// Paused is how long a live VM was paused (memory state and disk
	// copies); zero for a stopped VM.
	Paused time.Duration
	// MemoryTime is the part of Paused spent saving the memory state.
	MemoryTime time.Duration
}

// Take snapshots a VM that is not running: its portable files, its
// thumbnail and, when it is suspended, its saved memory state. It holds the
// VM's lock throughout, so the VM cannot start meanwhile.
func Take(ctx context.Context, b vm.Bundle, name string, opts Options) (*Result, error) {
	lock, err := b.TryLock()
	if err != nil {
		return nil, fmt.Errorf("%s is running: %w; take a live snapshot ('vivarium snapshot --live') or stop it first", b.Name(), vm.ErrRunning)
	}
	defer lock.Unlock()
	if err := Recover(b); err != nil {
		return nil, err
	}
	c, err := vm.LoadConfig(b.ConfigPath())
	if err != nil {
		return nil, fmt.Errorf("cannot snapshot %s: %w", b.Name(), err)
	}
	t, err := begin(b, name, c, opts)
	if err != nil {
		return nil, err
	}
	defer t.abandon()
	if _, err := os.Stat(b.SavedStatePath()); err == nil {
		if err := t.add(ctx, b.SavedStatePath(), KindMemory); err != nil {
			return nil, err
		}
		t.m.Memory = true
	}
	if err := t.addThumbnail(ctx, b.ThumbnailPath()); err != nil {
		return nil, err
	}
	if err := t.addPortable(ctx, c); err != nil {
		return nil, err
	}
	info, err := t.finish()
	if err != nil {
		return nil, err
	}
	return &Result{Info: info}, nil
}

// Live is what TakeLive needs of the running VM: a vm.Instance; it must
// also be a vm.StateCapturer, and may be a vm.Screenshotter.
type Live interface {
	State() vm.State
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
}

// TakeLive snapshots a running VM with its memory: pause, memory state,
// disk copies, resume. It is for the process that runs the VM and holds its
// lock (the runner). If the VM cannot save its memory (a device blocks
// it), it says why and nothing is left: the VM runs on as before.
func TakeLive(ctx context.Context, b vm.Bundle, c *vm.Config, name string, inst Live, opts Options) (*Result, error) {
	capturer, ok := inst.(vm.StateCapturer)
	if !ok {
		return nil, fmt.Errorf("live snapshot: %w: the %s backend cannot save a running VM's memory here; stop the VM and take the snapshot then", vm.ErrUnsupported, c.Backend)
	}
	if err := Recover(b); err != nil {
		return nil, err
	}
	t, err := begin(b, name, c, opts)
	if err != nil {
		return nil, err
	}
	defer t.abandon()
	if shot, ok := inst.(vm.Screenshotter); ok {
		// Best effort: a guest without a screen still gets a snapshot.
		thumb := filepath.Join(t.dir, vm.ThumbnailFile)
		if shot.Screenshot(ctx, thumb) == nil {
			if err := t.record(thumb, KindThumbnail); err != nil {
				return nil, err
			}
		}
	}
	res := &Result{}
	wasRunning := inst.State() == vm.StateRunning
	start := time.Now()
	if wasRunning {
		if err := inst.Pause(ctx); err != nil {
			return nil, fmt.Errorf("live snapshot: %w", err)
		}
	}
	resume := func() error {
		if !wasRunning {
			return nil
		}
		err := inst.Resume(context.WithoutCancel(ctx))
		res.Paused = time.Since(start)
		if err != nil {
			return fmt.Errorf("live snapshot: the VM stays paused: %w; resume it with 'vivarium resume %s'", err, b.Name())
		}
		return nil
	}
	mem := filepath.Join(t.dir, vm.SavedStateFile)
	if err := capturer.CaptureState(ctx, mem); err != nil {
		return nil, errors.Join(fmt.Errorf("live snapshot of %s: %w", b.Name(), err), resume())
	}
	res.MemoryTime = time.Since(start)
	if err := t.record(mem, KindMemory); err != nil {
		return nil, errors.Join(err, resume())
	}
	t.m.Memory = true
	// The config the VM runs with, which its memory state fits, even if
	// config.toml was edited since it started.
	t.running = c
	if err := t.addPortable(ctx, c); err != nil {
		return nil, errors.Join(err, resume())
	}
	if err := resume(); err != nil {
		return nil, err
	}
	info, err := t.finish()
	if err != nil {
		return nil, err
	}
	res.Info = info
	return res, nil
}

// taking is a snapshot being built in a hidden folder of snapshots/.
type taking struct {
	b    vm.Bundle
	name string
	dir  string
	m    Manifest
	done bool
	// running, when set, is saved as the snapshot's config instead of a
	// copy of config.toml.
	running *vm.Config
}

func begin(b vm.Bundle, name string, c *vm.Config, opts Options) (*taking, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if _, err := os.Stat(b.SnapshotDir(name)); err == nil {
		return nil, fmt.Errorf("%s: snapshot %q: %w; choose another name or delete it first", b.Name(), name, ErrExists)
	}
	if err := os.MkdirAll(b.SnapshotsDir(), 0o755); err != nil {
		return nil, fmt.Errorf("snapshots of %s: %w", b.Name(), err)
	}
	// We hold the VM's lock: whatever an earlier taker left is abandoned.
	cleanUnfinished(b)
	dir, err := os.MkdirTemp(b.SnapshotsDir(), takingPrefix)
	if err != nil {
		return nil, fmt.Errorf("snapshot %q: %w", name, err)
	}
	return &taking{b: b, name: name, dir: dir, m: Manifest{
		Version: ManifestVersion, Name: name, Created: opts.now().UTC(), Backend: c.Backend,
	}}, nil
}

// add copies src into the snapshot under its own name.
func (t *taking) add(ctx context.Context, src string, kind vm.PortableKind) error {
	dst := filepath.Join(t.dir, filepath.Base(src))
	if err := copyFile(ctx, src, dst); err != nil {
		return fmt.Errorf("snapshot %q: %w", t.name, err)
	}
	return t.record(dst, kind)
}

// record notes a file already in the snapshot's folder, synced to disk.
func (t *taking) record(path string, kind vm.PortableKind) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("snapshot %q: %w", t.name, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("snapshot %q: %s: %w", t.name, filepath.Base(path), err)
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	t.m.Files = append(t.m.Files, File{Name: filepath.Base(path), Kind: kind, Size: st.Size()})
	return nil
}

func (t *taking) addThumbnail(ctx context.Context, src string) error {
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return t.add(ctx, src, KindThumbnail)
}

// addPortable copies every portable file of the VM (vm.Bundle.PortableFiles).
func (t *taking) addPortable(ctx context.Context, c *vm.Config) error {
	files, err := t.b.PortableFiles(c)
	if err != nil {
		return fmt.Errorf("snapshot %q: %w", t.name, err)
	}
	for _, f := range files {
		if f.Kind == vm.PortableConfig && t.running != nil {
			dst := filepath.Join(t.dir, f.Name)
			if err := vm.SaveConfig(dst, t.running); err != nil {
				return fmt.Errorf("snapshot %q: %w", t.name, err)
			}
			if err := t.record(dst, f.Kind); err != nil {
				return err
			}
			continue
		}
		if err := t.add(ctx, filepath.Join(t.b.Dir, f.Name), f.Kind); err != nil {
			return err
		}
	}
	return nil
}

// finish writes the manifest and moves the snapshot into place.
func (t *taking) finish() (*Info, error) {
	data, err := json.MarshalIndent(t.m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := vm.WriteFileAtomic(filepath.Join(t.dir, vm.SnapshotManifestFile), data, 0o644); err != nil {
		return nil, fmt.Errorf("snapshot %q: %w", t.name, err)
	}
	if err := os.Rename(t.dir, t.b.SnapshotDir(t.name)); err != nil {
		if errors.Is(err, fs.ErrExist) || isNotEmpty(err) {
			return nil, fmt.Errorf("%s: snapshot %q: %w; choose another name", t.b.Name(), t.name, ErrExists)
		}
		return nil, fmt.Errorf("snapshot %q: %w", t.name, err)
	}
	t.done = true
	if err := syncDir(t.b.SnapshotsDir()); err != nil {
		return nil, err
	}
	return inspect(t.b, t.name), nil
}

// abandon removes the half-made snapshot unless it was finished.
func (t *taking) abandon() {
	if !t.done {
		os.RemoveAll(t.dir)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	return nil
}

func isNotEmpty(err error) bool { return errors.Is(err, syscall.ENOTEMPTY) }
