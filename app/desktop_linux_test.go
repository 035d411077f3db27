package main

// The Linux desktop as a person uses it: a real Debian desktop guest (Xorg,
// spice-vdagent) started by 'vivarium start', its window the SPICE viewer
// on an Xvfb display, the host's clipboard and window driven with xclip and
// xdotool. One boot for the whole group.

import (
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/internal/desktopguest"
	"github.com/vivarium-vm/vivarium/internal/xdisplay"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/qemu"
)

// Timeouts for the desktop guest under TCG on a loaded two-core machine,
// where X is up 35–75 s after start and a resize takes 2–8 s.
const (
	desktopBootTimeout = 4 * time.Minute
	desktopStepTimeout = time.Minute
)

// desktopVM is a VM booting the desktop guest, its window on an Xvfb
// display.
type desktopVM struct {
	*guestVM
	display xdisplay.Display
	report  desktopguest.Report
	data    string // a shared folder, tag "data"
}

// newDesktopVM creates a VM around a copy of the desktop guest's image,
// with the report share and a data share, and a width×height display.
func newDesktopVM(t *testing.T, name string, width, height int) *desktopVM {
	t.Helper()
	g := desktopguest.Require(t)
	if why := xdisplay.MissingHostTools(); why != "" {
		t.Fatal(why)
	}
	if _, err := exec.LookPath(qemu.ViewerProgram); err != nil {
		t.Fatalf("%v: the VM's window on Linux is the SPICE viewer (Debian: apt-get install virt-viewer)", err)
	}
	d, stop, err := xdisplay.StartXvfb("1600x1000x24")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	v := &desktopVM{
		guestVM: &guestVM{t: t, bin: vivariumBinary(t), home: t.TempDir(), name: name, env: []string{"DISPLAY=" + d.Name}},
		display: d,
		report:  desktopguest.Report{Dir: t.TempDir()},
		data:    t.TempDir(),
	}
	v.must("create", "--kernel", g.Kernel, "--initrd", g.Initrd, "--cmdline", g.Cmdline(),
		"--import-disk", g.Image, "--disk", "0", "--memory", "1GiB", "--cpus", "2", "--network", "none",
		"--share", v.report.Dir+":"+desktopguest.ReportTag, "--share", v.data+":data", name)
	v.must("set", name, fmt.Sprintf("display.width=%d", width), fmt.Sprintf("display.height=%d", height))
	v.b = vm.Bundle{Dir: filepath.Join(v.home, name+vm.BundleExt)}
	t.Cleanup(func() {
		if v.b.Locked() {
			v.run("stop", "--force", name)
		}
		if t.Failed() {
			console, _ := os.ReadFile(v.b.ConsoleLogPath())
			runner, _ := os.ReadFile(v.b.RunnerLogPath())
			t.Logf("guest console (last 3000 bytes):\n%s\nrunner.log:\n%s", tail(console, 3000), runner)
		}
	})
	return v
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func stepContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), desktopStepTimeout)
	t.Cleanup(cancel)
	return ctx
}

func TestDesktopGuestClipboardResizeSharesStop(t *testing.T) {
	const width, height = 1152, 720 // the configured size: not the guest's default
	// A space in the name: the window opens through a URI of its socket path.
	v := newDesktopVM(t, "Linux desktop", width, height)
	shared := fmt.Sprintf("hello-%d.txt", time.Now().UnixNano())
	if err := os.WriteFile(filepath.Join(v.data, shared), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	v.must("start", v.name)
	boot, cancel := context.WithTimeout(t.Context(), desktopBootTimeout)
	defer cancel()
	if err := v.report.WaitFor(boot, desktopguest.ReportReady, "ready"); err != nil {
		t.Fatalf("the desktop did not come up: %v", err)
	}
	t.Logf("desktop ready %.1f s after start", time.Since(start).Seconds())
	win, err := v.display.WaitWindow(boot, v.name)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(v.b.SpiceSocketPath())
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("SPICE socket %s: %v, mode %v; want 0600", v.b.SpiceSocketPath(), err, st.Mode().Perm())
	}

	sess := &desktopguest.Session{Display: v.display, Window: win, Report: v.report}

	t.Run("opens at the configured size", func(t *testing.T) {
		ctx := stepContext(t)
		if err := sess.Frame(ctx, width, height); err != nil {
			t.Fatal(err)
		}
		// Give the viewer time to (wrongly) hand another size to the guest.
		time.Sleep(3 * time.Second)
		if s, _ := v.report.Read(desktopguest.ReportScreen); s != desktopguest.Screen(width, height) {
			t.Errorf("guest screen went to %s after the window opened, want the configured %dx%d", s, width, height)
		}
	})

	t.Run("shares mounted", func(t *testing.T) {
		shares, err := v.report.Read(desktopguest.ReportShares)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"data /mnt/data " + shared, desktopguest.ReportTag + " /mnt/" + desktopguest.ReportTag} {
			if !strings.Contains(shares, want) {
				t.Errorf("guest's shares = %q, want a line with %q", shares, want)
			}
		}
	})

	t.Run("cloud-init stays off without a seed", func(t *testing.T) {
		console, err := os.ReadFile(v.b.ConsoleLogPath())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(console), "Cloud-init v.") {
			t.Errorf("cloud-init ran on a VM without a seed disk (it costs ~20 s a boot under emulation):\n%s", tail(console, 2000))
		}
	})

	t.Run("host to guest clipboard", func(t *testing.T) {
		link, err := sess.WaitClipboardLink(stepContext(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("the guest's agent reached the viewer %.1f s after the checks began", link.Seconds())
		took, err := sess.HostToGuest(stepContext(t), fmt.Sprintf("copied on the host %d", time.Now().UnixNano()))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("host → guest in %.1f s", took.Seconds())
	})

	t.Run("guest to host clipboard", func(t *testing.T) {
		took, err := sess.GuestToHost(stepContext(t), fmt.Sprintf("copied in the guest %d", time.Now().UnixNano()))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("guest → host in %.1f s", took.Seconds())
	})

	t.Run("guest follows the window: grow, shrink, back", func(t *testing.T) {
		for _, size := range [][2]int{{1360, 850}, {800, 600}, {width, height}} {
			took, err := sess.Resize(stepContext(t), size[0], size[1])
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("guest screen %dx%d %.1f s after the window changed", size[0], size[1], took.Seconds())
		}
	})

	t.Run("closed window opens again, the VM running on", func(t *testing.T) {
		ctx := stepContext(t)
		viewer, err := v.display.WindowPID(ctx, sess.Window)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.display.CloseWindow(ctx, sess.Window); err != nil {
			t.Fatal(err)
		}
		// The viewer asks "Do you want to close the session?" (Cancel, OK)
		// in a small window of its own; the person answers OK.
		answered := false
		for syscall.Kill(viewer, 0) == nil && ctx.Err() == nil {
			for _, id := range v.display.WindowsOf(ctx, viewer) {
				x, y, w, h, err := v.display.WindowGeometry(ctx, id)
				if answered || err != nil || id == sess.Window || w > 600 || h > 300 {
					continue
				}
				t.Logf("the viewer asks to confirm in a %dx%d window; answering OK", w, h)
				if err := v.display.Click(ctx, x+w*3/4, y+h-14); err != nil {
					t.Fatal(err)
				}
				answered = true
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err := v.display.WaitNoWindow(ctx, v.name); err != nil {
			t.Fatal(err)
		}
		if ctx.Err() != nil {
			t.Fatalf("the viewer (pid %d) still runs after its window's close button (confirmation answered: %v)", viewer, answered)
		}
		if log, _ := os.ReadFile(v.b.RunnerLogPath()); !strings.Contains(string(log), "the window closed; the VM keeps running") {
			t.Errorf("runner.log does not say the window closed and the VM runs on:\n%s", log)
		}
		if s := v.state(); s != string(vm.StateRunning) {
			t.Fatalf("after the window closed the VM is %q, want running", s)
		}
		v.must("window", v.name)
		if sess.Window, err = v.display.WaitNewWindow(ctx, v.name, viewer); err != nil {
			t.Fatal(err)
		}
		if _, _, err := v.display.WaitWindowSize(ctx, sess.Window, width+sess.FrameW, height+sess.FrameH); err != nil {
			t.Errorf("the window did not reopen at the guest's screen size %dx%d in its frame: %v", width, height, err)
		}
		if s, _ := v.report.Read(desktopguest.ReportScreen); s != desktopguest.Screen(width, height) {
			t.Errorf("reopening the window changed the guest's screen to %s, want it kept at %dx%d", s, width, height)
		}
	})

	t.Run("Show Window brings an open window to the front", func(t *testing.T) {
		ctx := stepContext(t)
		// Another program's window covers the VM's.
		cover := exec.CommandContext(ctx, "xmessage", "-name", "covering", "-geometry", "1600x1000+0+0", "another program")
		cover.Env = v.display.Env()
		if err := cover.Start(); err != nil {
			t.Fatalf("xmessage (x11-utils): %v", err)
		}
		defer func() { cover.Process.Kill(); cover.Wait() }()
		coverID, err := v.display.WaitWindow(ctx, "covering")
		if err != nil {
			t.Fatal(err)
		}
		if above, err := v.display.Above(ctx, coverID, sess.Window); err != nil || !above {
			t.Fatalf("the covering window is not above the VM's (%v): the test cannot tell", err)
		}
		oldPID, err := v.display.WindowPID(ctx, sess.Window)
		if err != nil {
			t.Fatal(err)
		}
		v.must("window", v.name)
		if sess.Window, err = v.display.WaitNewWindow(ctx, v.name, oldPID); err != nil {
			t.Fatal(err)
		}
		if above, err := v.display.Above(ctx, sess.Window, coverID); err != nil || !above {
			t.Errorf("after Show Window the VM's window is not in front of the covering one (%v)", err)
		}
		if ids := v.display.Windows(ctx, v.name); len(ids) != 1 {
			t.Errorf("VM windows after Show Window: %v, want exactly one", ids)
		}
		if _, _, err := v.display.WaitWindowSize(ctx, sess.Window, width+sess.FrameW, height+sess.FrameH); err != nil {
			t.Errorf("the window did not come back at the guest's screen size %dx%d: %v", width, height, err)
		}
		if s := v.state(); s != string(vm.StateRunning) {
			t.Errorf("after Show Window the VM is %q, want running", s)
		}
	})

	t.Run("polite stop: clean filesystem, thumbnail, window gone", func(t *testing.T) {
		out := v.must("stop", v.name)
		if !strings.Contains(out, "the guest shut down") {
			t.Errorf("stop said %q, want the guest to shut down on the power button", out)
		}
		ctx := stepContext(t)
		if err := v.display.WaitNoWindow(ctx, v.name); err != nil {
			t.Error(err)
		}
		disk := v.b.DiskPath(vm.DiskFileName(0))
		if out, err := exec.Command("e2fsck", "-fn", disk).CombinedOutput(); err != nil {
			t.Errorf("e2fsck -fn of the guest's disk after a polite stop: %v\n%s", err, out)
		}
		if out, _ := exec.Command("dumpe2fs", "-h", disk).Output(); !strings.Contains(string(out), "Filesystem state:         clean") {
			t.Errorf("the guest's filesystem was not unmounted cleanly:\n%s", out)
		}
		f, err := os.Open(v.b.ThumbnailPath())
		if err != nil {
			t.Fatalf("no thumbnail: %v", err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != width || b.Dy() != height {
			t.Errorf("thumbnail is %v, want the guest's last screen, %dx%d", b, width, height)
		}
	})
}
