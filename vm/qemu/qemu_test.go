package qemu

// Real-QEMU tests: they boot the tiny test guest (internal/testguest) with
// qemu-system-x86_64 and are skipped, with the reason, only when QEMU is
// not installed. Guests run one at a time.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/internal/testguest"
	"github.com/vivarium-vm/vivarium/vm"
)

// bootTimeout is generous: TCG on a loaded two-core machine.
const bootTimeout = 60 * time.Second

// realGuest skips the test when QEMU is absent and returns the test guest.
func realGuest(t *testing.T) testguest.Guest {
	t.Helper()
	return testguest.Require(t)
}

// guestVM is a VM directory for the test guest.
type guestVM struct {
	bundle vm.Bundle
	config *vm.Config
	guest  testguest.Guest
}

func newGuestVM(t *testing.T, g testguest.Guest, name string) *guestVM {
	t.Helper()
	c := testConfig()
	c.Name = name
	c.Boot.Kernel, c.Boot.Initrd = g.Kernel, g.Initrd
	b := vm.Bundle{Dir: filepath.Join(t.TempDir(), name+vm.BundleExt)}
	if err := os.MkdirAll(b.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &guestVM{bundle: b, config: c, guest: g}
}

// addDisk gives the VM a blank raw disk.
func (v *guestVM) addDisk(t *testing.T) string {
	t.Helper()
	d := vm.Disk{File: vm.DiskFileName(len(v.config.Disks)), Size: 16 * vm.MiB}
	if err := vm.CreateDisk(v.bundle.DiskPath(d.File), d.Size); err != nil {
		t.Fatal(err)
	}
	v.config.Disks = append(v.config.Disks, d)
	return v.bundle.DiskPath(d.File)
}

// qemuInstance is the QEMU process behind what Start returned (with the
// SPICE viewer on Linux hosts, an instance that can also show a window).
func qemuInstance(inst vm.Instance) *instance {
	if s, ok := inst.(*spiceInstance); ok {
		return s.instance
	}
	return inst.(*instance)
}

// start boots the VM headless with the guest's shares and actions and
// returns it once QEMU runs it; the test ends by force-stopping it if it
// still runs.
func (v *guestVM) start(t *testing.T, disks []string, actions ...string) *instance {
	t.Helper()
	var tags []string
	for _, s := range v.config.Shares {
		tags = append(tags, s.Tag)
	}
	v.config.Boot.Cmdline = testguest.Cmdline(tags, actions)
	if err := v.config.Validate(); err != nil {
		t.Fatalf("test VM config: %v", err)
	}
	if disks == nil {
		for _, d := range v.config.Disks {
			disks = append(disks, v.bundle.DiskPath(d.File))
		}
	}
	if err := v.bundle.EnsureRunDir(); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(v.bundle.RunnerLogPath())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	inst, err := (&Backend{}).Start(ctx, &vm.RunSpec{
		Bundle: v.bundle, Config: v.config, Disks: disks, Headless: true, Log: log,
	})
	if err != nil {
		t.Fatalf("Start: %v\nrunner.log:\n%s", err, v.runnerLog())
	}
	qi := qemuInstance(inst)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		qi.ForceStop(ctx)
	})
	return qi
}

func (v *guestVM) runnerLog() string {
	b, _ := os.ReadFile(v.bundle.RunnerLogPath())
	return string(b)
}

// waitConsole waits for marker on the VM's console and returns the console.
func (v *guestVM) waitConsole(t *testing.T, marker string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	text, err := testguest.WaitForMarker(ctx, v.bundle.ConsoleLogPath(), marker)
	if err != nil {
		t.Fatalf("%v\nrunner.log:\n%s", err, v.runnerLog())
	}
	return text
}

func result(t *testing.T, console, action string) testguest.Result {
	t.Helper()
	r, ok := testguest.FindResult(testguest.ParseResults(console), action)
	if !ok {
		t.Fatalf("the guest reported nothing for %s; console:\n%s", action, console)
	}
	return r
}

// recordChanges collects what Changes delivers until it closes.
type recordChanges struct {
	mu     sync.Mutex
	states []vm.State
	closed chan struct{}
}

func record(ch <-chan vm.State) *recordChanges {
	r := &recordChanges{closed: make(chan struct{})}
	go func() {
		for s := range ch {
			r.mu.Lock()
			r.states = append(r.states, s)
			r.mu.Unlock()
		}
		close(r.closed)
	}()
	return r
}

func (r *recordChanges) seen() []vm.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]vm.State(nil), r.states...)
}

func TestRealGuest(t *testing.T) {
	g := realGuest(t)
	v := newGuestVM(t, g, "Guest")
	disk := v.addDisk(t)
	rw, ro := filepath.Join(t.TempDir(), "rw"), filepath.Join(t.TempDir(), "ro")
	for _, d := range []string{rw, ro} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	v.config.Shares = []vm.Share{{Path: rw, Tag: "rw"}, {Path: ro, Tag: "ro", ReadOnly: true}}
	v.config.Clipboard = true
	v.config.Network = vm.Network{Mode: vm.NetNAT, MAC: "52:54:00:12:34:56"}

	started := time.Now()
	inst := v.start(t, nil, testguest.ShareWrite("rw"), testguest.ShareWrite("ro"),
		testguest.ActionPorts, testguest.DiskWrite("kept"))
	changes := record(inst.Changes())
	if s := inst.State(); s != vm.StateRunning {
		t.Errorf("State after Start = %q, want running", s)
	}
	console := v.waitConsole(t, testguest.IdleMarker)
	t.Logf("guest idle %.1f s after Start", time.Since(started).Seconds())

	t.Run("boots to the ready marker", func(t *testing.T) {
		if !strings.Contains(console, testguest.ReadyMarker) {
			t.Errorf("no %s on the console:\n%s", testguest.ReadyMarker, console)
		}
	})
	t.Run("the guest's file appears in the share", func(t *testing.T) {
		if r := result(t, console, testguest.ShareWrite("rw")); !r.OK {
			t.Fatalf("the guest could not write its share: %s", r.Detail)
		}
		b, err := os.ReadFile(filepath.Join(rw, testguest.ShareFileName))
		if err != nil {
			t.Fatalf("the guest's file is not on the host: %v", err)
		}
		if string(b) != testguest.ShareFileContent {
			t.Errorf("the share holds %q, want %q", b, testguest.ShareFileContent)
		}
	})
	t.Run("a read-only share refuses the guest's write", func(t *testing.T) {
		if r := result(t, console, testguest.ShareWrite("ro")); r.OK {
			t.Errorf("the guest wrote to a read-only share (%s)", r.Detail)
		}
		if _, err := os.Stat(filepath.Join(ro, testguest.ShareFileName)); !os.IsNotExist(err) {
			t.Errorf("a file appeared in the read-only share on the host (stat: %v)", err)
		}
	})
	t.Run("the clipboard port is in the guest", func(t *testing.T) {
		r := result(t, console, testguest.ActionPorts)
		if !r.OK || !contains(strings.Split(r.Detail, ","), ClipboardPort) {
			t.Errorf("guest's virtio-serial ports: %q, want %s among them", r.Detail, ClipboardPort)
		}
	})
	t.Run("screenshot is a PNG of the guest's screen", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		path := v.bundle.ThumbnailPath()
		if err := inst.Screenshot(ctx, path); err != nil {
			t.Fatalf("Screenshot: %v", err)
		}
		img, err := png.Decode(mustOpen(t, path))
		if err != nil {
			t.Fatalf("thumbnail.png: %v", err)
		}
		if b := img.Bounds(); b.Dx() != v.config.Display.Width || b.Dy() != v.config.Display.Height {
			t.Errorf("screenshot is %dx%d, want the configured %dx%d", b.Dx(), b.Dy(), v.config.Display.Width, v.config.Display.Height)
		}
		// The guest printed its markers on the screen: not one flat colour.
		colours := map[[3]uint32]bool{}
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y && len(colours) < 2; y += 2 {
			for x := b.Min.X; x < b.Max.X; x += 2 {
				r, g, bl, _ := img.At(x, y).RGBA()
				colours[[3]uint32{r, g, bl}] = true
			}
		}
		if len(colours) < 2 {
			t.Errorf("the screenshot is one flat colour: the guest's text is not on it")
		}
		if left, _ := filepath.Glob(filepath.Join(v.bundle.RunDir(), "screendump-*")); len(left) > 0 {
			t.Errorf("screendump files left behind: %q", left)
		}
	})
	t.Run("pause and resume", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := inst.Pause(ctx); err != nil {
			t.Fatalf("Pause: %v", err)
		}
		if s := inst.State(); s != vm.StatePaused {
			t.Errorf("State after Pause = %q", s)
		}
		if status, running, err := inst.status(ctx); err != nil || running || status != "paused" {
			t.Errorf("QEMU says %q (running %v, err %v) after Pause", status, running, err)
		}
		if err := inst.Resume(ctx); err != nil {
			t.Fatalf("Resume: %v", err)
		}
		if s := inst.State(); s != vm.StateRunning {
			t.Errorf("State after Resume = %q", s)
		}
		if status, running, err := inst.status(ctx); err != nil || !running {
			t.Errorf("QEMU says %q (running %v, err %v) after Resume", status, running, err)
		}
	})
	t.Run("a polite stop powers off even a paused guest", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
		defer cancel()
		if err := inst.Pause(ctx); err != nil {
			t.Fatalf("Pause: %v", err)
		}
		if err := inst.RequestStop(ctx); err != nil {
			t.Fatalf("RequestStop: %v", err)
		}
		if err := inst.Wait(ctx); err != nil {
			t.Fatalf("Wait after the guest powered off = %v, want nil\nrunner.log:\n%s", err, v.runnerLog())
		}
		if s := inst.State(); s != vm.StateStopped {
			t.Errorf("State after power-off = %q", s)
		}
		if b, _ := os.ReadFile(v.bundle.ConsoleLogPath()); !strings.Contains(string(b), "power button") {
			t.Errorf("the guest did not see its power button:\n%s", b)
		}
		select {
		case <-changes.closed:
		case <-time.After(5 * time.Second):
			t.Fatal("Changes was not closed after the VM stopped")
		}
		seen := changes.seen()
		want := []vm.State{vm.StatePaused, vm.StateRunning, vm.StateStopping, vm.StateStopped}
		if !containsInOrder(seen, want) {
			t.Errorf("Changes delivered %q, want %q in that order", seen, want)
		}
		if err := inst.Pause(ctx); !errors.Is(err, vm.ErrNotRunning) {
			t.Errorf("Pause of a stopped VM = %v, want ErrNotRunning", err)
		}
	})

	// The second run is disposable, on the disk the first run wrote.
	t.Run("disposable run leaves the base disk untouched", func(t *testing.T) {
		before := sha256File(t, disk)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		overlay, err := (&Backend{}).MakeThrowaway(ctx, disk, filepath.Join(v.bundle.DisposableDir(), filepath.Base(disk)))
		if err != nil {
			t.Fatalf("MakeThrowaway: %v", err)
		}
		if !strings.HasPrefix(overlay, v.bundle.DisposableDir()) || diskFormat(overlay) != "qcow2" {
			t.Fatalf("overlay %q: want a qcow2 file in %s", overlay, v.bundle.DisposableDir())
		}
		inst := v.start(t, []string{overlay}, testguest.ActionDiskRead, testguest.DiskWrite("thrown-away"))
		if runtime.GOOS == "linux" {
			if mode, ok := openMode(t, inst.cmd.Process.Pid, disk); ok && mode != syscall.O_RDONLY {
				t.Errorf("QEMU opened the base disk with access mode %#o, want read-only", mode)
			}
		}
		console := v.waitConsole(t, testguest.IdleMarker)
		if r := result(t, console, testguest.ActionDiskRead); r.Detail != "kept" {
			t.Errorf("the disposable run read %q from its disk, want %q, written by the normal run before (it persists, and the overlay shows it)", r.Detail, "kept")
		}
		if r := result(t, console, testguest.DiskWrite("thrown-away")); !r.OK {
			t.Fatalf("the guest could not write its disposable disk: %s", r.Detail)
		}
		stopped := time.Now()
		if err := inst.ForceStop(ctx); err != nil {
			t.Fatalf("ForceStop: %v", err)
		}
		if err := inst.Wait(ctx); err != nil {
			t.Errorf("Wait after ForceStop = %v, want nil", err)
		}
		t.Logf("force stop took %.2f s", time.Since(stopped).Seconds())
		if s := inst.State(); s != vm.StateStopped {
			t.Errorf("State after ForceStop = %q", s)
		}
		if after := sha256File(t, disk); after != before {
			t.Errorf("the base disk changed during a disposable run (sha256 %x, was %x)", after, before)
		}
	})
}

// containsInOrder reports whether want appears in seen as a subsequence.
func containsInOrder(seen, want []vm.State) bool {
	i := 0
	for _, s := range seen {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}

func sha256File(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// openMode finds path among the process's open files and returns its
// access mode (O_RDONLY, O_WRONLY or O_RDWR).
func openMode(t *testing.T, pid int, path string) (int, bool) {
	t.Helper()
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		t.Logf("cannot list %s: %v", fdDir, err)
		return 0, false
	}
	found, mode := false, 0
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err != nil || target != path {
			continue
		}
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd.Name()))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(strings.NewReader(string(info)))
		for sc.Scan() {
			if f, ok := strings.CutPrefix(sc.Text(), "flags:"); ok {
				flags, _ := strconv.ParseInt(strings.TrimSpace(f), 8, 64)
				found = true
				mode |= int(flags) & syscall.O_ACCMODE
			}
		}
	}
	if !found {
		t.Errorf("QEMU (pid %d) does not have %s open", pid, path)
	}
	return mode, found
}

func TestRealStartFailure(t *testing.T) {
	g := realGuest(t)
	v := newGuestVM(t, g, "Broken")
	v.config.Disks = []vm.Disk{{File: "disk-0.img", Size: 16 * vm.MiB}} // never created
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	inst, err := (&Backend{}).Start(ctx, &vm.RunSpec{
		Bundle: v.bundle, Config: v.config, Disks: []string{v.bundle.DiskPath("disk-0.img")}, Headless: true,
	})
	if err == nil {
		inst.ForceStop(ctx)
		t.Fatal("Start with a missing disk succeeded")
	}
	// QEMU's own words name the file.
	for _, say := range []string{"failed to start", "disk-0.img", "No such file"} {
		if !strings.Contains(err.Error(), say) {
			t.Errorf("Start error does not say %q:\n%v", say, err)
		}
	}
}

func TestRealEFIStart(t *testing.T) {
	g := realGuest(t)
	b := &Backend{}
	v := newGuestVM(t, g, "EFI")
	v.config.Boot = vm.Boot{Mode: vm.BootEFI}
	if err := b.Check(v.config); errors.Is(err, ErrNoFirmware) {
		t.Skipf("no UEFI firmware here: %v", err)
	}
	disk := v.addDisk(t)
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	inst, err := b.Start(ctx, &vm.RunSpec{
		Bundle: v.bundle, Config: v.config, Disks: []string{disk}, EFIVars: v.bundle.EFIVarsPath(), Headless: true,
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer inst.ForceStop(ctx)
	if s := inst.State(); s != vm.StateRunning {
		t.Errorf("State = %q, want running", s)
	}
	if fi, err := os.Stat(v.bundle.EFIVarsPath()); err != nil || fi.Size() == 0 {
		t.Errorf("the VM got no EFI variable store of its own: %v", err)
	}
	// QEMU dying by someone else's hand is a crash, not a stop.
	if err := syscall.Kill(qemuInstance(inst).cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = inst.Wait(ctx)
	if err == nil || !strings.Contains(err.Error(), "stopped unexpectedly") || !strings.Contains(err.Error(), "killed") {
		t.Errorf("Wait after QEMU was killed = %v, want an error saying it stopped unexpectedly", err)
	}
	if err := inst.ForceStop(ctx); err != nil {
		t.Errorf("ForceStop of a VM already gone = %v, want nil", err)
	}
}

// helperEnv names the VM directory a re-executed test binary starts QEMU
// for, in TestRealRunnerKilled.
const helperEnv = "VIVARIUM_QEMU_TEST_HELPER_VM"

// TestRealRunnerKilled kills a process running a VM with SIGKILL, as a
// crashed runner would die, and expects its QEMU to die with it.
func TestRealRunnerKilled(t *testing.T) {
	if dir := os.Getenv(helperEnv); dir != "" {
		runHelper(t, dir)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("only Linux has a parent-death signal")
	}
	g := realGuest(t)
	v := newGuestVM(t, g, "Orphan")
	cmd := exec.Command(os.Args[0], "-test.run=^TestRealRunnerKilled$", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"="+v.bundle.Dir, "VIVARIUM_TEST_KERNEL="+g.Kernel, "VIVARIUM_TEST_INITRD="+g.Initrd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	pid := 0
	var said []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		said = append(said, sc.Text())
		if p, ok := strings.CutPrefix(sc.Text(), "QEMU-PID "); ok {
			pid, _ = strconv.Atoi(p)
			break
		}
	}
	if pid == 0 {
		cmd.Wait()
		t.Fatalf("the helper did not start QEMU:\n%s", strings.Join(said, "\n"))
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("QEMU (pid %d) still runs 10 s after its runner was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runHelper is the re-executed side: start the VM, say QEMU's pid, wait to
// be killed.
func runHelper(t *testing.T, dir string) {
	v := &guestVM{bundle: vm.Bundle{Dir: dir}, config: testConfig()}
	v.config.Name = v.bundle.Name()
	v.config.Boot.Kernel, v.config.Boot.Initrd = os.Getenv("VIVARIUM_TEST_KERNEL"), os.Getenv("VIVARIUM_TEST_INITRD")
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	inst, err := (&Backend{}).Start(ctx, &vm.RunSpec{Bundle: v.bundle, Config: v.config, Headless: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	fmt.Printf("QEMU-PID %d\n", qemuInstance(inst).cmd.Process.Pid)
	inst.Wait(ctx) // killed long before
}

// alive reports whether pid runs: it exists and is not a zombie waiting
// for a reaper.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// TestRealArgsAccepted has QEMU check every device and option Args emits
// for a VM with everything on: it starts the command line frozen (-S) and
// waits for the monitor, which answers only once every device is built.
// The window is swapped for -display none: CI has no screen.
func TestRealArgsAccepted(t *testing.T) {
	g := realGuest(t)
	tests := []struct {
		arch       string
		autoResize bool
		viewer     string
	}{{vm.ArchAMD64, true, ViewerQEMU}, {vm.ArchAMD64, false, ViewerQEMU}, {vm.ArchARM64, true, ViewerQEMU},
		{vm.ArchAMD64, true, ViewerSPICE}, {vm.ArchARM64, true, ViewerSPICE}}
	for _, tt := range tests {
		arch := tt.arch
		t.Run(fmt.Sprintf("%s auto_resize=%v viewer=%q", arch, tt.autoResize, tt.viewer), func(t *testing.T) {
			bin, err := findProgram("", SystemBinary(arch))
			if err != nil {
				t.Skipf("%v", err)
			}
			fw, err := FindFirmware(arch, DefaultFirmwareDirs(bin))
			if err != nil {
				t.Skipf("%v", err)
			}
			v := newGuestVM(t, g, "Everything-"+arch)
			c := v.config
			c.Arch, c.CPUs = arch, 2
			c.Boot = vm.Boot{Mode: vm.BootEFI, ISO: filepath.Join(t.TempDir(), "install.iso")}
			if err := os.WriteFile(c.Boot.ISO, make([]byte, 1<<20), 0o644); err != nil {
				t.Fatal(err)
			}
			base := v.addDisk(t)
			v.addDisk(t)
			c.Disks[1].ReadOnly = true
			overlay, err := (&Backend{}).MakeThrowaway(context.Background(), base, filepath.Join(v.bundle.DisposableDir(), "disk-0.img"))
			if err != nil {
				t.Fatal(err)
			}
			c.Network = vm.Network{Mode: vm.NetNAT, MAC: "52:54:00:12:34:56"}
			c.Shares = []vm.Share{{Path: t.TempDir(), Tag: "rw"}, {Path: t.TempDir(), Tag: "ro", ReadOnly: true}}
			c.Clipboard, c.Audio, c.Serial = true, true, true
			c.Display.AutoResize = tt.autoResize
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			if err := EnsureEFIVars(v.bundle.EFIVarsPath(), fw); err != nil {
				t.Fatal(err)
			}
			args, err := Args(ArgsInput{
				Binary: bin, Config: c, Bundle: v.bundle,
				Disks:   []string{overlay, v.bundle.DiskPath(c.Disks[1].File)},
				EFIVars: v.bundle.EFIVarsPath(), Firmware: fw,
				Host: Host{OS: "linux", Arch: vm.HostArch(), Accel: AccelTCG, AudioDriver: "none", Viewer: tt.viewer},
			})
			if err != nil {
				t.Fatal(err)
			}
			for i, a := range args {
				if strings.HasPrefix(a, "gtk,") {
					args[i] = "none"
				}
			}
			args = append(args, "-S")
			if err := v.bundle.EnsureRunDir(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
			defer cancel()
			inst, err := start(ctx, args, v.bundle, nil, AccelTCG, Version{7, 2, 0})
			if err != nil {
				t.Fatalf("QEMU refused the arguments: %v\n%s", err, shellJoin(args))
			}
			defer inst.ForceStop(ctx)
			if s := inst.State(); s != vm.StatePaused {
				t.Errorf("State of a VM frozen with -S = %q, want paused", s)
			}
		})
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
