package vm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newTestLibrary(t *testing.T) *Library {
	t.Helper()
	lib, err := OpenLibrary(filepath.Join(t.TempDir(), "vms"))
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

func createVM(t *testing.T, lib *Library, name string, disk Size) *Info {
	t.Helper()
	c := NewConfig(name, OSLinux)
	c.Disks = []Disk{{Size: disk}}
	c.FillDefaults()
	info, err := lib.Create(context.Background(), c, CreateOptions{})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return info
}

func TestCreateListInspect(t *testing.T) {
	lib := newTestLibrary(t)
	ctx := context.Background()
	info := createVM(t, lib, "demo", 64*GiB)
	if info.State != StateStopped {
		t.Errorf("new VM is %s, want stopped", info.State)
	}
	if len(info.Disks) != 1 || info.Disks[0].Size != 64*GiB {
		t.Fatalf("disks = %+v", info.Disks)
	}
	if info.Disks[0].Allocated > 1*MiB {
		t.Errorf("a new 64GiB disk takes %s on disk; it must be sparse", info.Disks[0].Allocated.Human())
	}
	if _, err := lib.Create(ctx, NewConfig("demo", OSLinux), CreateOptions{}); !errors.Is(err, ErrExists) {
		t.Errorf("second create: %v, want ErrExists", err)
	}
	createVM(t, lib, "another", 1*GiB)
	list, err := lib.List(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "another" || list[1].Name != "demo" {
		t.Fatalf("list = %v, %v", list, err)
	}
	entries, _ := os.ReadDir(lib.Root)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left a temporary %s in the library", e.Name())
		}
	}
}

func TestCreateFailureLeavesNothing(t *testing.T) {
	lib := newTestLibrary(t)
	c := NewConfig("half", OSLinux)
	c.Disks = []Disk{{Size: GiB}}
	_, err := lib.Create(context.Background(), c, CreateOptions{Prepare: func(context.Context, Bundle, *Config) error {
		return errors.New("installer failed")
	}})
	if err == nil {
		t.Fatal("create succeeded")
	}
	entries, _ := os.ReadDir(lib.Root)
	if len(entries) != 0 {
		t.Errorf("a failed create left %v in the library", entries[0].Name())
	}
}

func TestBrokenVMIsListedAndOthersWork(t *testing.T) {
	lib := newTestLibrary(t)
	ctx := context.Background()
	createVM(t, lib, "good", GiB)
	bad := createVM(t, lib, "bad", GiB)
	if err := os.WriteFile(bad.Bundle().ConfigPath(), []byte("version = 1\nname = \"bad\"\ncpus = 0.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	list, err := lib.List(ctx)
	if err != nil {
		t.Fatalf("list failed because of one broken VM: %v", err)
	}
	if len(list) != 2 {
		t.Fatalf("list = %v", list)
	}
	b := list[0]
	if b.Name != "bad" || b.State != StateBroken || !strings.Contains(b.Error, "cpus") {
		t.Errorf("broken VM listed as %+v", b)
	}
	if _, err := lib.Clone(ctx, "good", "good copy", nil); err != nil {
		t.Errorf("clone of a good VM failed next to a broken one: %v", err)
	}
	if _, err := lib.Edit(ctx, "good", func(c *Config) error { c.CPUs = 3; return nil }); err != nil {
		t.Errorf("edit failed: %v", err)
	}
}

func TestEditRefusesInvalid(t *testing.T) {
	lib := newTestLibrary(t)
	info := createVM(t, lib, "vm", GiB)
	before, _ := os.ReadFile(info.Bundle().ConfigPath())
	_, err := lib.Edit(context.Background(), "vm", func(c *Config) error { c.Memory = 10 * MiB; return nil })
	var fes FieldErrors
	if !errors.As(err, &fes) || fes.For("memory") == nil {
		t.Fatalf("edit to 10MiB memory: %v", err)
	}
	after, _ := os.ReadFile(info.Bundle().ConfigPath())
	if !bytes.Equal(before, after) {
		t.Error("a refused edit changed config.toml")
	}
}

func TestRenameCloneDeleteRefusedWhileRunning(t *testing.T) {
	lib := newTestLibrary(t)
	ctx := context.Background()
	info := createVM(t, lib, "busy", GiB)
	lock, err := info.Bundle().TryLock()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := lib.Inspect(ctx, "busy"); got.State != StateRunning {
		t.Errorf("locked VM reads %s, want running", got.State)
	}
	if _, err := info.Bundle().TryLock(); !errors.Is(err, ErrLocked) {
		t.Errorf("second lock: %v, want ErrLocked", err)
	}
	for op, err := range map[string]error{
		"delete": lib.Delete(ctx, "busy"),
		"rename": func() error { _, err := lib.Rename(ctx, "busy", "x"); return err }(),
		"clone":  func() error { _, err := lib.Clone(ctx, "busy", "y", nil); return err }(),
	} {
		if !errors.Is(err, ErrRunning) {
			t.Errorf("%s of a running VM: %v, want ErrRunning", op, err)
		}
	}
	lock.Unlock()
	if _, err := lib.Rename(ctx, "busy", "calm"); err != nil {
		t.Fatal(err)
	}
	got, err := lib.Inspect(ctx, "calm")
	if err != nil || got.Config.Name != "calm" {
		t.Fatalf("renamed VM: %+v %v", got, err)
	}
	if err := lib.Delete(ctx, "calm"); err != nil {
		t.Fatal(err)
	}
	if _, err := lib.Inspect(ctx, "calm"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted VM inspect: %v", err)
	}
}

func TestStaleRuntimeCleaned(t *testing.T) {
	lib := newTestLibrary(t)
	info := createVM(t, lib, "crashed", GiB)
	b := info.Bundle()
	if err := os.MkdirAll(filepath.Join(b.DisposableDir()), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(b.DisposableDir(), "disk-0.qcow2"), []byte("x"), 0o600)
	os.WriteFile(b.ControlSocketPath(), nil, 0o600)
	os.WriteFile(b.PIDPath(), []byte("12345\n"), 0o600) // the dead runner's
	got, _ := lib.Inspect(context.Background(), "crashed")
	if got.State != StateStopped {
		t.Errorf("state %s", got.State)
	}
	for _, p := range []string{b.DisposableDir(), b.ControlSocketPath(), b.PIDPath()} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("stale %s not removed", p)
		}
	}
}

func TestCloneKeepsHolesAndChangesIdentity(t *testing.T) {
	lib := newTestLibrary(t)
	ctx := context.Background()
	src := createVM(t, lib, "big", 64*GiB)
	f, err := os.OpenFile(src.Bundle().DiskPath("disk-0.img"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("vivarium"), 10*int(MiB)/8)
	if _, err := f.WriteAt(data, 20*int64(GiB)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var calls int
	var last int64
	clone, err := lib.Clone(ctx, "big", "big clone", func(done, total int64) { calls++; last = done })
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || last != int64(64*GiB) {
		t.Errorf("progress: %d calls, last %d", calls, last)
	}
	if a := clone.Disks[0].Allocated; a > 20*MiB {
		t.Errorf("clone of a 64GiB disk with 10MiB written takes %s", a.Human())
	}
	got := make([]byte, len(data))
	cf, _ := os.Open(clone.Bundle().DiskPath("disk-0.img"))
	defer cf.Close()
	cf.ReadAt(got, 20*int64(GiB))
	if !bytes.Equal(got, data) {
		t.Error("clone's data differs from the source")
	}
	if clone.Config.Network.MAC == src.Config.Network.MAC {
		t.Error("clone kept the source's MAC address")
	}
}

func TestCopyDiskCancel(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.img")
	os.WriteFile(src, bytes.Repeat([]byte{1}, 8<<20), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CopyDisk(ctx, src, filepath.Join(dir, "dst.img"), nil); err == nil && !cloneSupported(dir) {
		t.Fatal("cancelled copy succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "dst.img")); err == nil && !cloneSupported(dir) {
		t.Error("cancelled copy left its file")
	}
}

func cloneSupported(dir string) bool {
	a, b := filepath.Join(dir, ".probe-a"), filepath.Join(dir, ".probe-b")
	os.WriteFile(a, []byte("x"), 0o644)
	defer os.Remove(a)
	defer os.Remove(b)
	return cloneFile(a, b) == nil
}

func TestDefaultRoot(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	got, _ := DefaultRoot(env(map[string]string{"VIVARIUM_HOME": "/x/y", "HOME": "/h"}))
	if got != "/x/y" {
		t.Errorf("VIVARIUM_HOME ignored: %s", got)
	}
	if _, err := DefaultRoot(env(nil)); err == nil {
		t.Error("no HOME and no VIVARIUM_HOME accepted")
	}
}

func TestSocketPathFitsMacOSLimit(t *testing.T) {
	b := Bundle{Dir: "/Users/someone/Library/Application Support/Vivarium/VMs/" + strings.Repeat("long name ", 9) + ".vm"}
	for _, p := range []string{b.ControlSocketPath(), b.QMPSocketPath()} {
		if len(p) > 104 {
			t.Errorf("%s is %d bytes", p, len(p))
		}
	}
	if b.ControlSocketPath() == b.QMPSocketPath() {
		t.Error("two sockets share a path")
	}
	short := Bundle{Dir: "/v/demo.vm"}
	if short.ControlSocketPath() != "/v/demo.vm/run/control.sock" {
		t.Errorf("short path moved: %s", short.ControlSocketPath())
	}
}

// TestSpiceSocketPathFitsAURI: the viewer gets the SPICE socket inside a
// URI, which cannot carry a space; such a VM's socket moves to the short
// runtime dir, and plain ones stay in run/.
func TestSpiceSocketPathFitsAURI(t *testing.T) {
	tests := []struct {
		dir   string
		inRun bool
	}{
		{dir: "/v/demo.vm", inRun: true},
		{dir: "/home/me/vms/my-vm_2.0.vm", inRun: true},
		{dir: "/home/me/vms/Work Desktop.vm"},
		{dir: "/home/me/vms/Café.vm"},
		{dir: "/home/me/vms/a,b%c.vm"},
	}
	for _, tt := range tests {
		b := Bundle{Dir: tt.dir}
		p := b.SpiceSocketPath()
		if got := p == filepath.Join(tt.dir, RunDir, SpiceSockFile); got != tt.inRun {
			t.Errorf("SpiceSocketPath of %s = %s; in run/: %v, want %v", tt.dir, p, got, tt.inRun)
		}
		if strings.IndexFunc(p, notURISafe) >= 0 || len(p) > 104 {
			t.Errorf("SpiceSocketPath of %s = %s: not fit for a URI", tt.dir, p)
		}
		if p == b.QMPSocketPath() || p == b.ControlSocketPath() {
			t.Errorf("SpiceSocketPath of %s = %s shares a path with another socket", tt.dir, p)
		}
	}
}

// TestKillDuringSaveNeverTearsConfig kills a process that saves configs in
// a loop, each kill right after the saver says it has begun a save, and
// checks config.toml is always whole. The saver prints "begin N" before and
// "end N" after each save: a kill counts as landing inside a save when
// "begin N" was its last word, and most kills must.
func TestKillDuringSaveNeverTearsConfig(t *testing.T) {
	if path := os.Getenv("VIVARIUM_TEST_SAVE_LOOP"); path != "" {
		saveLoop(path)
		return
	}
	iterations := 200
	if testing.Short() {
		iterations = 30
	}
	dir := t.TempDir()
	path := filepath.Join(dir, ConfigFile)
	old := fullConfig()
	if err := SaveConfig(path, old); err != nil {
		t.Fatal(err)
	}
	inside := 0
	for i := 0; i < iterations; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringSaveNeverTearsConfig$")
		cmd.Env = append(os.Environ(), "VIVARIUM_TEST_SAVE_LOOP="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let a few saves go by, then kill as soon as one begins.
		want := fmt.Sprintf("begin %d", 1+i%7)
		sc := bufio.NewScanner(out)
		var last string
		deadline := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
		for sc.Scan() {
			last = sc.Text()
			if last == want {
				cmd.Process.Kill()
				break
			}
		}
		for sc.Scan() {
			last = sc.Text() // what it said before the kill landed
		}
		deadline.Stop()
		cmd.Wait()
		if strings.HasPrefix(last, "begin ") {
			inside++
		}
		c, err := LoadConfig(path)
		if err != nil {
			t.Fatalf("after kill %d: config unreadable: %v", i, err)
		}
		if c.CPUs < 1 {
			t.Fatalf("after kill %d: bad config %+v", i, c)
		}
	}
	t.Logf("%d of %d kills landed inside a save", inside, iterations)
	if inside < iterations/2 {
		t.Errorf("only %d of %d kills landed inside a save: the test did not prove what it claims", inside, iterations)
	}
}

func saveLoop(path string) {
	c := fullConfig()
	w := bufio.NewWriter(os.Stdout)
	for i := 1; ; i++ {
		c.CPUs = 1 + i%64
		c.Boot.Cmdline = strings.Repeat(fmt.Sprint(i), 1+i%500)
		fmt.Fprintf(w, "begin %d\n", i)
		w.Flush()
		if err := SaveConfig(path, c); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Fprintf(w, "end %d\n", i)
		w.Flush()
	}
}

func TestPortableFiles(t *testing.T) {
	dir := t.TempDir()
	b := Bundle{Dir: dir}
	c := NewConfig("p", OSLinux)
	c.Disks = []Disk{{File: "disk-0.img", Size: MiB}, {File: "data.img", Size: MiB}}
	for _, f := range []string{ConfigFile, "disk-0.img", "data.img", EFIVarsFile, ThumbnailFile, SavedStateFile} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.PortableFiles(c)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range got {
		names = append(names, f.Name)
	}
	want := []string{ConfigFile, "disk-0.img", "data.img", EFIVarsFile}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("portable files %v, want %v (no thumbnail, no saved state)", names, want)
	}
	if err := os.Remove(filepath.Join(dir, "data.img")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PortableFiles(c); err == nil || !strings.Contains(err.Error(), "data.img") {
		t.Errorf("a missing disk: err = %v, want one naming data.img", err)
	}
}
