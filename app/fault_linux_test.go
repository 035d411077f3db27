package main

// Fault and security tests of the command line as a person runs it: the
// vivarium binary in its own processes, VMs booting the real test guest
// under qemu-system-x86_64. They skip, saying why, only where QEMU is absent.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vivarium-vm/vivarium/internal/procfs"
	"github.com/vivarium-vm/vivarium/internal/testguest"
	"github.com/vivarium-vm/vivarium/internal/xdisplay"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/importer/importertest"
)

// binDir holds the vivarium binary built for these tests; TestMain
// removes it.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vivarium-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildOnce builds the vivarium binary the first time a test needs it: the
// runner 'vivarium start' spawns is its own executable, so these tests
// cannot run the CLI in-process.
var buildOnce = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(binDir, "vivarium")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
})

func vivariumBinary(t *testing.T) string {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// bootTimeout is generous: TCG on a loaded two-core machine is slow.
const bootTimeout = 2 * time.Minute

// guestVM is a VM booting the test guest, driven through the binary.
type guestVM struct {
	t    *testing.T
	bin  string
	home string
	name string
	b    vm.Bundle
	env  []string // more environment for the binary, e.g. DISPLAY
}

// newGuestVM creates a VM named name that boots the test guest with the
// given kernel command line (testguest.Cmdline), plus extra create flags.
func newGuestVM(t *testing.T, name, cmdline string, extra ...string) *guestVM {
	t.Helper()
	g := testguest.Require(t)
	v := &guestVM{t: t, bin: vivariumBinary(t), home: t.TempDir(), name: name}
	args := append([]string{"create", "--kernel", g.Kernel, "--initrd", g.Initrd, "--cmdline", cmdline,
		"--disk", "64MiB", "--memory", "512MiB", "--cpus", "1", "--network", "none", "--clipboard=false"}, extra...)
	v.must(append(args, name)...)
	v.b = vm.Bundle{Dir: filepath.Join(v.home, name+vm.BundleExt)}
	t.Cleanup(func() {
		if v.b.Locked() {
			v.run("stop", "--force", name)
		}
	})
	return v
}

// run runs the binary with args against the VM's library and returns what
// it printed: stdout, then stderr.
func (v *guestVM) run(args ...string) (string, error) {
	stdout, stderr, err := v.run2(args...)
	return stdout + stderr, err
}

func (v *guestVM) run2(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, v.bin, args...)
	cmd.Env = append(append(os.Environ(), "VIVARIUM_HOME="+v.home), v.env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func (v *guestVM) must(args ...string) string {
	v.t.Helper()
	out, err := v.run(args...)
	if err != nil {
		v.t.Fatalf("vivarium %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// waitConsole waits for marker on the guest's serial console.
func (v *guestVM) waitConsole(marker string) string {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	text, err := testguest.WaitForMarker(ctx, v.b.ConsoleLogPath(), marker)
	if err != nil {
		runnerLog, _ := os.ReadFile(v.b.RunnerLogPath())
		v.t.Fatalf("%v\nrunner.log:\n%s", err, runnerLog)
	}
	return text
}

func (v *guestVM) state() string {
	out, _, _ := v.run2("status", v.name)
	return strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
}

func (v *guestVM) runnerPID() int {
	v.t.Helper()
	data, err := os.ReadFile(v.b.PIDPath())
	if err != nil {
		v.t.Fatalf("no runner pid file while the VM runs: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		v.t.Fatalf("runner pid file holds %q", data)
	}
	return pid
}

// waitFor polls cond until it holds or timeout passes, and says how long
// it took.
func waitFor(timeout time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > timeout {
			return time.Since(start), false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tcpListeners returns the listening TCP sockets (IPv4 and IPv6) that the
// processes pids hold, as "pid: local address" lines.
func tcpListeners(t *testing.T, pids ...int) []string {
	t.Helper()
	listening := map[string]string{} // socket inode -> local address
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(table)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 9 && f[3] == "0A" { // TCP_LISTEN
				listening[f[9]] = f[1]
			}
		}
	}
	var found []string
	for _, pid := range pids {
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			t.Fatalf("reading process %d's open files: %v", pid, err)
		}
		for _, fd := range fds {
			target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
			inode, ok := strings.CutPrefix(target, "socket:[")
			if !ok {
				continue
			}
			if addr, ok := listening[strings.TrimSuffix(inode, "]")]; ok {
				found = append(found, fmt.Sprintf("%d: %s", pid, addr))
			}
		}
	}
	return found
}

// TestRunnerKilledTakesQEMUDown kills the runner of a disposable VM whose
// guest has written its disk: QEMU goes with it, the VM reads stopped, its
// lock, socket and throw-away disk are reclaimed, the base disk is
// untouched and the next start works. While it runs, neither the runner
// nor QEMU listens on a TCP port and run/ is private.
func TestRunnerKilledTakesQEMUDown(t *testing.T) {
	v := newGuestVM(t, "killed", testguest.Cmdline(nil, []string{testguest.DiskWrite("disposable-write")}), "--disposable")
	base := v.b.DiskPath(vm.DiskFileName(0))
	before := importertest.FileSum(t, base)

	v.must("start", "--headless", v.name)
	if text := v.waitConsole(testguest.IdleMarker); !strings.Contains(text, "disk-write:disposable-write ok") {
		t.Fatalf("the guest did not write its disk:\n%s", text)
	}
	runner := v.runnerPID()
	qemus := procfs.Children(runner, "qemu-system")
	if len(qemus) != 1 {
		t.Fatalf("the runner (pid %d) has %d QEMU children, want 1", runner, len(qemus))
	}
	qemu := qemus[0]
	if l := tcpListeners(t, runner, qemu); len(l) > 0 {
		t.Errorf("a running VM listens on TCP: %v; nothing of ours may open a network port", l)
	}
	if st, err := os.Stat(v.b.RunDir()); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("run/ is %v (%v), want 0700", st.Mode().Perm(), err)
	}
	if st, err := os.Stat(v.b.ControlSocketPath()); err != nil || st.Mode().Perm()&0o077 != 0 {
		t.Errorf("control socket mode %v (%v): other users may connect", st.Mode().Perm(), err)
	}
	if entries, _ := os.ReadDir(v.b.DisposableDir()); len(entries) == 0 {
		t.Fatal("a disposable run has nothing in run/disposable")
	}

	if err := syscall.Kill(runner, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	took, gone := waitFor(5*time.Second, func() bool { return !procfs.Alive(qemu) })
	if !gone {
		t.Errorf("QEMU (pid %d) still runs %v after its runner was killed: a VM must never run unsupervised", qemu, took)
	} else {
		t.Logf("QEMU exited %v after its runner was killed", took.Round(time.Millisecond))
	}
	took, stopped := waitFor(5*time.Second, func() bool { return v.state() == string(vm.StateStopped) })
	if !stopped {
		t.Errorf("status says %q %v after the runner was killed, want stopped", v.state(), took)
	} else {
		t.Logf("status said stopped %v after the kill", took.Round(time.Millisecond))
	}
	if v.b.Locked() {
		t.Error("the VM's lock is still held")
	}
	for _, p := range []string{v.b.ControlSocketPath(), v.b.DisposableDir(), v.b.PIDPath()} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is still there after status looked at the stopped VM", p)
		}
	}
	if importertest.FileSum(t, base) != before {
		t.Error("the base disk changed: a disposable run wrote it")
	}

	v.must("start", "--headless", v.name)
	v.waitConsole(testguest.IdleMarker)
	v.must("stop", "--force", v.name)
	if importertest.FileSum(t, base) != before {
		t.Error("the base disk changed after the next disposable run")
	}
}

// TestRacingStartsRunOneRunner runs two 'vivarium start' of the same VM at
// once, 50 times: one starts it, the other says it is already running, and
// exactly one runner runs.
func TestRacingStartsRunOneRunner(t *testing.T) {
	rounds := 50
	if testing.Short() {
		rounds = 5
	}
	v := newGuestVM(t, "raced", testguest.Cmdline(nil, nil))
	var stopFailures []string
	for round := 0; round < rounds; round++ {
		type result struct {
			out string
			err error
		}
		results := make(chan result, 2)
		for range 2 {
			go func() {
				out, err := v.run("start", "--headless", v.name)
				results <- result{out, err}
			}()
		}
		var started, refused int
		var outs []string
		for range 2 {
			r := <-results
			outs = append(outs, strings.TrimSpace(r.out))
			switch {
			case r.err == nil && strings.Contains(r.out, "is running"):
				started++
			case r.err != nil && strings.Contains(r.out, "already running"):
				refused++
			}
		}
		if started != 1 || refused != 1 {
			t.Fatalf("round %d: two racing starts said %q; want one started and one 'already running'", round, outs)
		}
		if runners := v.runners(); len(runners) != 1 {
			t.Fatalf("round %d: %d runners run the VM (pids %v), want 1", round, len(runners), runners)
		}
		// A forced stop must say it stopped the VM; that it did is checked
		// on its own, so the race above stays this test's subject.
		if out, err := v.run("stop", "--force", v.name); err != nil {
			stopFailures = append(stopFailures, fmt.Sprintf("round %d: %v: %s", round, err, strings.TrimSpace(out)))
		}
		if _, ok := waitFor(10*time.Second, func() bool { return !v.b.Locked() }); !ok {
			t.Fatalf("round %d: the VM still runs 10s after stop --force", round)
		}
	}
	if len(stopFailures) > 0 {
		t.Errorf("'vivarium stop --force' failed %d of %d times although the VM stopped:\n%s",
			len(stopFailures), rounds, strings.Join(stopFailures, "\n"))
	}
}

// runners lists the 'vivarium run' processes of this VM.
func (v *guestVM) runners() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !procfs.Alive(pid) {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if len(args) >= 5 && args[0] == v.bin && args[1] == "run" && args[2] == v.name && args[4] == v.home {
			out = append(out, pid)
		}
	}
	return out
}

// TestReadOnlyShareRefusesGuestWrites shares two folders, one read-only:
// the guest's write reaches the host through the other, never through the
// read-only one.
func TestReadOnlyShareRefusesGuestWrites(t *testing.T) {
	ro, rw := t.TempDir(), t.TempDir()
	v := newGuestVM(t, "shares", testguest.Cmdline([]string{"ro", "rw"}, []string{testguest.ShareWrite("ro"), testguest.ShareWrite("rw")}),
		"--share", ro+":ro:ro", "--share", rw+":rw")
	v.must("start", "--headless", v.name)
	results := testguest.ParseResults(v.waitConsole(testguest.IdleMarker))
	v.must("stop", "--force", v.name)

	if r, ok := testguest.FindResult(results, testguest.ShareWrite("rw")); !ok || !r.OK {
		t.Fatalf("the guest could not write the read-write share (%+v), so the read-only check proves nothing", r)
	}
	if got, err := os.ReadFile(filepath.Join(rw, testguest.ShareFileName)); err != nil || string(got) != testguest.ShareFileContent {
		t.Errorf("the read-write share on the host holds %q (%v)", got, err)
	}
	if r, ok := testguest.FindResult(results, testguest.ShareWrite("ro")); !ok || r.OK {
		t.Errorf("the guest's write to the read-only share: %+v, want it refused", r)
	}
	if entries, _ := os.ReadDir(ro); len(entries) > 0 {
		t.Errorf("the guest wrote %s into a read-only share", entries[0].Name())
	}
}

// TestGUIKilledVMKeepsRunning kills the library window while a VM runs: the
// VM runs on, and the next window opens while it still runs.
func TestGUIKilledVMKeepsRunning(t *testing.T) {
	for _, tool := range []string{"Xvfb", "xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			testguest.SkipOrFail(t, fmt.Sprintf("%s not found (%v): the GUI tests need it (Debian: apt-get install xvfb xdotool)", tool, err))
		}
	}
	v := newGuestVM(t, "outlives gui", testguest.Cmdline(nil, nil))
	display := startXvfb(t)
	gui := v.openGUI(t, display)
	v.must("start", "--headless", v.name)
	v.waitConsole(testguest.ReadyMarker)
	qemus := procfs.Children(v.runnerPID(), "qemu-system")

	gui.kill()
	time.Sleep(time.Second)
	if s := v.state(); s != string(vm.StateRunning) {
		t.Fatalf("after the window was killed the VM is %q, want running", s)
	}
	for _, q := range qemus {
		if !procfs.Alive(q) {
			t.Errorf("QEMU (pid %d) died with the window", q)
		}
	}
	v.openGUI(t, display)
	if s := v.state(); s != string(vm.StateRunning) {
		t.Errorf("after the window reopened the VM is %q, want running", s)
	}
	v.must("stop", "--force", v.name)
}

// startXvfb starts a virtual display and returns its name.
func startXvfb(t *testing.T) string {
	t.Helper()
	d, stop, err := xdisplay.StartXvfb("1280x800x24")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return d.Name
}

// guiProc is a running library window.
type guiProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// kill ends the window like a crash, and waits for it to be gone.
func (g *guiProc) kill() {
	g.cmd.Process.Kill()
	<-g.exited
}

// openGUI starts the library window on display and waits until it shows;
// it skips the test when the binary has no window yet. Its output goes to
// a file, not a pipe, so that nothing it leaves behind can hold Wait up.
func (v *guestVM) openGUI(t *testing.T, display string) *guiProc {
	t.Helper()
	// fyne's GLFW driver rarely panics at launch under Xvfb (fyne#5981):
	// that launch is logged and tried once more; ours are what is tested.
	g, crash := v.tryOpenGUI(t, display)
	if g == nil {
		t.Logf("the library window crashed inside fyne before it showed; trying again:\n%s", crash)
		g, crash = v.tryOpenGUI(t, display)
	}
	if g == nil {
		t.Fatalf("the library window exited before it showed, twice:\n%s", crash)
	}
	return g
}

// tryOpenGUI is one launch; it returns nil and the output when the window
// crashed in fyne's GLFW driver before showing.
func (v *guestVM) tryOpenGUI(t *testing.T, display string) (*guiProc, string) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "gui-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	g := &guiProc{cmd: exec.Command(v.bin), exited: make(chan struct{})}
	g.cmd.Env = append(os.Environ(), "VIVARIUM_HOME="+v.home, "DISPLAY="+display)
	g.cmd.Stdout, g.cmd.Stderr = out, out
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.cmd.Wait(); close(g.exited) }()
	t.Cleanup(g.kill)
	said := func() string { data, _ := os.ReadFile(out.Name()); return strings.TrimSpace(string(data)) }
	_, shown := waitFor(time.Minute, func() bool {
		select {
		case <-g.exited:
			return true
		default:
		}
		search := exec.Command("xdotool", "search", "--onlyvisible", "--name", "^Vivarium$")
		search.Env = append(os.Environ(), "DISPLAY="+display)
		found, _ := search.Output()
		return len(bytes.TrimSpace(found)) > 0
	})
	select {
	case <-g.exited:
		if strings.Contains(said(), "not built yet") {
			testguest.SkipOrFail(t, "the library window is not built yet: "+said())
		}
		if strings.Contains(said(), "panic: ") && strings.Contains(said(), "glfw") {
			return nil, said()
		}
		t.Fatalf("the library window exited before it showed: %s", said())
	default:
	}
	if !shown {
		t.Fatalf("no Vivarium window within a minute:\n%s", said())
	}
	return g, ""
}

// smallLibrary mounts a tmpfs of size as a library and unmounts it when the
// test ends; it skips only where mounting is impossible.
func smallLibrary(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "library")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a %s tmpfs to fill up (%v): the disk-full tests need root with CAP_SYS_ADMIN", size, err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// TestDiskFullCLISaysSoAndLeavesNothing imports and clones onto a library
// without room: each says the disk is full and what to do, and leaves no
// half VM; the source stays as it was.
func TestDiskFullCLISaysSoAndLeavesNothing(t *testing.T) {
	home := smallLibrary(t, "24m")
	big := filepath.Join(t.TempDir(), "big.img")
	data := bytes.Repeat([]byte("0123456789abcdef"), 2<<20) // 32MiB of data
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := cli(t, home, "create", "--import-disk", big, "imported"); err == nil {
		t.Fatalf("importing 32MiB into 24MiB succeeded: %s", out)
	} else if !strings.Contains(err.Error(), "not enough disk space") || !strings.Contains(err.Error(), "free up space") {
		t.Errorf("import onto a full disk says %q; want it to say the disk is full and what to do", err)
	}
	if entries, _ := os.ReadDir(home); len(entries) > 0 {
		t.Errorf("the failed import left %s in the library", entries[0].Name())
	}

	if out, err := cli(t, home, "create", "--disk", "1GiB", "source"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	disk := filepath.Join(home, "source.vm", vm.DiskFileName(0))
	f, err := os.OpenFile(disk, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data[:14<<20], 512<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	before := importertest.FileSum(t, disk)
	if _, err := cli(t, home, "clone", "source", "copy"); err == nil {
		t.Fatal("cloning 14MiB of data into the 10MiB left succeeded")
	} else if !strings.Contains(err.Error(), "not enough disk space") {
		t.Errorf("clone onto a full disk says %q; want it to say the disk is full", err)
	}
	entries, _ := os.ReadDir(home)
	if len(entries) != 1 || entries[0].Name() != "source.vm" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("after the failed clone the library holds %v, want only source.vm", names)
	}
	if importertest.FileSum(t, disk) != before {
		t.Error("the failed clone changed the source's disk")
	}
	if out, err := cli(t, home, "status", "source"); err != nil || !strings.HasPrefix(out, "stopped") {
		t.Errorf("the source after the failed clone: %q %v", out, err)
	}
}
