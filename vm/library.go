package vm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Temporary directories in the library root start with these; List skips
// them and cleans the ones no process is still working in.
const (
	creatingPrefix = ".creating-"
	deletingPrefix = ".deleting-"
)

// Library is the folder of VMs.
type Library struct {
	Root string
	// Ask, when set, asks a running VM's runner for its state; without it a
	// running VM reads as running.
	Ask StatusAsker
}

// DefaultRoot is where the library lives: $VIVARIUM_HOME, else
// ~/Library/Application Support/Vivarium/VMs on macOS, else
// $XDG_DATA_HOME/vivarium/vms (~/.local/share/vivarium/vms).
func DefaultRoot(getenv func(string) string) (string, error) {
	if v := getenv("VIVARIUM_HOME"); v != "" {
		return filepath.Abs(v)
	}
	home := getenv("HOME")
	if runtime.GOOS == "darwin" && home != "" {
		return filepath.Join(home, "Library", "Application Support", "Vivarium", "VMs"), nil
	}
	if x := getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "vivarium", "vms"), nil
	}
	if home == "" {
		return "", errors.New("cannot find the library: HOME is not set; set VIVARIUM_HOME to a folder for VMs")
	}
	return filepath.Join(home, ".local", "share", "vivarium", "vms"), nil
}

// OpenLibrary opens (creating if needed) the library at root.
func OpenLibrary(root string) (*Library, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("library %s: %w", root, err)
	}
	return &Library{Root: root}, nil
}

// Bundle returns the directory of the VM called name, checking the name.
func (l *Library) Bundle(name string) (Bundle, error) {
	if err := ValidateName(name); err != nil {
		return Bundle{}, err
	}
	return Bundle{Dir: filepath.Join(l.Root, name+BundleExt)}, nil
}

// existing returns the bundle of a VM that must exist.
func (l *Library) existing(name string) (Bundle, error) {
	b, err := l.Bundle(name)
	if err != nil {
		return b, err
	}
	if _, err := os.Stat(b.Dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return b, fmt.Errorf("%q: %w; see the VMs with 'vivarium list'", name, ErrNotFound)
		}
		return b, err
	}
	return b, nil
}

// Info is what the library knows of one VM. A broken VM has Err set and may
// have no Config.
type Info struct {
	Name      string      `json:"name"`
	Dir       string      `json:"dir"`
	State     State       `json:"state"`
	Error     string      `json:"error,omitempty"`
	Config    *Config     `json:"config,omitempty"`
	Disks     []DiskUsage `json:"disks,omitempty"`
	Thumbnail string      `json:"thumbnail,omitempty"`
	Err       error       `json:"-"`
}

// Bundle is the VM's directory.
func (i *Info) Bundle() Bundle { return Bundle{Dir: i.Dir} }

// DiskUsage is one disk's size and the space it really takes.
type DiskUsage struct {
	File      string `json:"file"`
	Size      Size   `json:"size"`
	Allocated Size   `json:"allocated"`
}

// CreateOptions adjust Create.
type CreateOptions struct {
	// Prepare runs in the temporary VM directory after the config and disks
	// are written, before the VM appears in the library (for example to
	// install macOS). If it fails, the half-made VM is removed.
	Prepare func(ctx context.Context, tmp Bundle, c *Config) error
	// Progress reports a Prepare step's progress, when it has one.
	Progress Progress
}

// Create makes a new VM from c: built in a temporary directory, then renamed
// into place, so a crash never leaves half a VM in the library.
func (l *Library) Create(ctx context.Context, c *Config, opts CreateOptions) (*Info, error) {
	c.FillDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	final, err := l.Bundle(c.Name)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(final.Dir); err == nil {
		return nil, fmt.Errorf("%q: %w; choose another name or delete it first", c.Name, ErrExists)
	}
	tmp, lock, err := l.tempBundle(creatingPrefix)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	fail := func(err error) (*Info, error) {
		os.RemoveAll(tmp.Dir)
		return nil, err
	}
	for _, d := range c.Disks {
		if _, err := os.Stat(tmp.DiskPath(d.File)); err == nil {
			continue // Prepare-like steps may have provided it
		}
		if err := CreateDisk(tmp.DiskPath(d.File), d.Size); err != nil {
			return fail(err)
		}
	}
	if err := SaveConfig(tmp.ConfigPath(), c); err != nil {
		return fail(err)
	}
	if opts.Prepare != nil {
		if err := opts.Prepare(ctx, tmp, c); err != nil {
			return fail(err)
		}
		if err := SaveConfig(tmp.ConfigPath(), c); err != nil {
			return fail(err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Dir, final.Dir); err != nil {
		if errors.Is(err, fs.ErrExist) || errors.Is(err, errNotEmpty) {
			err = fmt.Errorf("%q: %w; choose another name or delete it first", c.Name, ErrExists)
		}
		return fail(err)
	}
	lock.Unlock()
	return l.Inspect(ctx, c.Name)
}

// tempBundle makes a locked, hidden working directory in the library root.
func (l *Library) tempBundle(prefix string) (Bundle, *Lock, error) {
	if err := os.MkdirAll(l.Root, 0o755); err != nil {
		return Bundle{}, nil, fmt.Errorf("library %s: %w", l.Root, err)
	}
	dir, err := os.MkdirTemp(l.Root, prefix)
	if err != nil {
		return Bundle{}, nil, fmt.Errorf("library %s: %w", l.Root, noSpace(err))
	}
	b := Bundle{Dir: dir}
	lock, err := b.TryLock()
	if err != nil {
		os.RemoveAll(dir)
		return Bundle{}, nil, err
	}
	return b, lock, nil
}

// List returns every VM, sorted by name. A VM that cannot be read is listed
// with its error; it never hides the others.
func (l *Library) List(ctx context.Context) ([]*Info, error) {
	entries, err := os.ReadDir(l.Root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("library %s: %w", l.Root, err)
	}
	var bundles []Bundle
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, creatingPrefix) || strings.HasPrefix(name, deletingPrefix) {
			l.cleanAbandoned(filepath.Join(l.Root, name))
			continue
		}
		if !e.IsDir() || !strings.HasSuffix(name, BundleExt) || strings.HasPrefix(name, ".") {
			continue
		}
		bundles = append(bundles, Bundle{Dir: filepath.Join(l.Root, name)})
	}
	// Reading configs is most of the work and each VM is independent: one
	// worker per CPU keeps a library of a thousand VMs quick to list.
	infos := make([]*Info, len(bundles))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.NumCPU(), len(bundles)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				infos[i] = l.inspect(ctx, bundles[i])
			}
		}()
	}
	for i := range bundles {
		next <- i
	}
	close(next)
	wg.Wait()
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
	return infos, nil
}

// cleanAbandoned removes a temporary directory that no process holds: the
// leftover of a create, clone or delete that crashed.
func (l *Library) cleanAbandoned(dir string) {
	b := Bundle{Dir: dir}
	if b.Locked() {
		return
	}
	lock, err := b.TryLock()
	if err != nil {
		return
	}
	defer lock.Unlock()
	os.RemoveAll(dir)
}

// Inspect returns one VM's info. A broken config is reported in Info.Err,
// not as the error; the error is for a VM that does not exist.
func (l *Library) Inspect(ctx context.Context, name string) (*Info, error) {
	b, err := l.existing(name)
	if err != nil {
		return nil, err
	}
	return l.inspect(ctx, b), nil
}

func (l *Library) inspect(ctx context.Context, b Bundle) *Info {
	info := &Info{Name: b.Name(), Dir: b.Dir}
	info.State = l.state(ctx, b)
	c, err := LoadConfig(b.ConfigPath())
	if err != nil {
		info.Err = fmt.Errorf("%s: %w", info.Name, trimPathPrefix(err, b.ConfigPath()))
		info.Error = info.Err.Error()
		if !info.State.Active() {
			info.State = StateBroken
		}
		return info
	}
	c.Name = info.Name // the directory name is the VM's name
	info.Config = c
	for _, d := range c.Disks {
		u := DiskUsage{File: d.File, Size: d.Size}
		if st, err := os.Stat(b.DiskPath(d.File)); err == nil {
			u.Size = Size(st.Size())
			u.Allocated = Size(allocated(st))
		} else if !info.State.Active() {
			info.Err = fmt.Errorf("%s: disk %s is missing: %w; restore it or remove it from config.toml", info.Name, d.File, err)
			info.Error = info.Err.Error()
			info.State = StateBroken
		}
		info.Disks = append(info.Disks, u)
	}
	if _, err := os.Stat(b.ThumbnailPath()); err == nil {
		info.Thumbnail = b.ThumbnailPath()
	}
	return info
}

func trimPathPrefix(err error, path string) error {
	msg := strings.TrimPrefix(err.Error(), path+": ")
	if msg == err.Error() {
		return err
	}
	return &wrapped{msg: "config.toml: " + msg, err: err}
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// state derives a VM's state: a held lock means a runner owns it (ask it
// for details); otherwise a saved state means suspended, else stopped.
// Runtime files a dead runner left behind are removed on the way.
func (l *Library) state(ctx context.Context, b Bundle) State {
	if b.Locked() {
		if l.Ask == nil {
			return StateRunning
		}
		s, err := l.Ask.AskState(ctx, b)
		if err != nil {
			return StateStarting
		}
		return s
	}
	l.cleanStale(b)
	if _, err := os.Stat(b.SavedStatePath()); err == nil {
		return StateSuspended
	}
	return StateStopped
}

// staleRuntime lists what a runner leaves only while it runs. The runner
// writes its pid file before any of the others and CleanStale removes it
// last, so without a pid file there is nothing stale.
func staleRuntime(b Bundle) []string {
	return []string{b.ControlSocketPath(), b.QMPSocketPath(), b.SpiceSocketPath(), b.DisposableDir(), b.PIDPath()}
}

// cleanStale removes runtime files of a runner that is gone. It takes the
// lock first, so it never races a runner that is starting.
func (l *Library) cleanStale(b Bundle) {
	if _, err := os.Lstat(b.PIDPath()); err != nil {
		return
	}
	lock, err := b.TryLock()
	if err != nil {
		return
	}
	defer lock.Unlock()
	_ = b.CleanStale()
}

// CleanStale removes what a crashed runner left. The caller holds the lock.
func (b Bundle) CleanStale() error {
	var errs []error
	for _, p := range staleRuntime(b) {
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Edit changes a VM's config through fn and saves it atomically if the
// result is valid. A running VM keeps running; the change applies at its
// next start (Info.State says whether that is so).
func (l *Library) Edit(ctx context.Context, name string, fn func(*Config) error) (*Info, error) {
	b, err := l.existing(name)
	if err != nil {
		return nil, err
	}
	c, err := LoadConfig(b.ConfigPath())
	if err != nil {
		// A broken config can still be replaced wholesale by fn.
		c = NewConfig(name, OSLinux)
	}
	if err := fn(c); err != nil {
		return nil, err
	}
	c.Name = b.Name()
	c.FillDefaults()
	if err := SaveConfig(b.ConfigPath(), c); err != nil {
		return nil, err
	}
	return l.Inspect(ctx, name)
}

// SaveRaw replaces a VM's config with text a person edited, if it parses.
func (l *Library) SaveRaw(ctx context.Context, name string, data []byte) (*Info, error) {
	b, err := l.existing(name)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, err
	}
	if c.Name != b.Name() {
		return nil, FieldErrors{{Key: "name", Msg: fmt.Sprintf("is %q but the VM is %q; rename it with 'vivarium rename'", c.Name, b.Name())}}
	}
	if err := WriteFileAtomic(b.ConfigPath(), data, 0o644); err != nil {
		return nil, err
	}
	return l.Inspect(ctx, name)
}

// Rename renames a stopped VM.
func (l *Library) Rename(ctx context.Context, from, to string) (*Info, error) {
	src, err := l.existing(from)
	if err != nil {
		return nil, err
	}
	dst, err := l.Bundle(to)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dst.Dir); err == nil {
		return nil, fmt.Errorf("%q: %w; choose another name", to, ErrExists)
	}
	lock, err := src.TryLock()
	if err != nil {
		return nil, fmt.Errorf("cannot rename %q while it runs: %w; stop it first", from, ErrRunning)
	}
	if err := src.CleanStale(); err != nil {
		lock.Unlock()
		return nil, err
	}
	if err := os.Rename(src.Dir, dst.Dir); err != nil {
		lock.Unlock()
		return nil, err
	}
	lock.Unlock()
	if c, err := LoadConfig(dst.ConfigPath()); err == nil {
		c.Name = to
		if err := SaveConfig(dst.ConfigPath(), c); err != nil {
			return nil, err
		}
	}
	return l.Inspect(ctx, to)
}

// Clone copies a stopped VM under a new name: disks copy-on-write where the
// filesystem can, else sparse; a new MAC address and machine identifier, so
// the two can run side by side. progress may be nil.
func (l *Library) Clone(ctx context.Context, from, to string, progress Progress) (*Info, error) {
	src, err := l.existing(from)
	if err != nil {
		return nil, err
	}
	dst, err := l.Bundle(to)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dst.Dir); err == nil {
		return nil, fmt.Errorf("%q: %w; choose another name", to, ErrExists)
	}
	srcLock, err := src.TryLock()
	if err != nil {
		return nil, fmt.Errorf("cannot clone %q while it runs: %w; stop it first", from, ErrRunning)
	}
	defer srcLock.Unlock()
	c, err := LoadConfig(src.ConfigPath())
	if err != nil {
		return nil, fmt.Errorf("cannot clone %q: %w", from, err)
	}
	c.Name = to
	if c.Network.Mode != NetNone {
		c.Network.MAC = RandomMAC()
	}
	tmp, lock, err := l.tempBundle(creatingPrefix)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	fail := func(err error) (*Info, error) {
		os.RemoveAll(tmp.Dir)
		return nil, err
	}
	files := []string{EFIVarsFile, AuxFile, HardwareFile, ThumbnailFile}
	for _, d := range c.Disks {
		files = append(files, d.File)
	}
	var total, base int64
	for _, f := range files {
		if st, err := os.Stat(src.DiskPath(f)); err == nil {
			total += st.Size()
		}
	}
	for _, f := range files {
		st, err := os.Stat(src.DiskPath(f))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fail(err)
		}
		var p Progress
		if progress != nil {
			p = func(done, _ int64) { progress(base+done, total) }
		}
		if _, err := CopyDisk(ctx, src.DiskPath(f), tmp.DiskPath(f), p); err != nil {
			return fail(fmt.Errorf("cloning %s: %w", f, err))
		}
		base += st.Size()
	}
	if err := SaveConfig(tmp.ConfigPath(), c); err != nil {
		return fail(noSpace(err))
	}
	if err := os.Rename(tmp.Dir, dst.Dir); err != nil {
		return fail(err)
	}
	lock.Unlock()
	srcLock.Unlock()
	return l.Inspect(ctx, to)
}

// Delete removes a stopped VM and everything in its directory.
func (l *Library) Delete(ctx context.Context, name string) error {
	b, err := l.existing(name)
	if err != nil {
		return err
	}
	lock, err := b.TryLock()
	if err != nil {
		return fmt.Errorf("cannot delete %q while it runs: %w; stop it first", name, ErrRunning)
	}
	defer lock.Unlock()
	_ = b.CleanStale()
	// Move it out of sight first, so a crash mid-delete never shows half a VM.
	gone := filepath.Join(l.Root, deletingPrefix+randomHex(6))
	if err := os.Rename(b.Dir, gone); err != nil {
		return err
	}
	return os.RemoveAll(gone)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
