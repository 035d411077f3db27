package main

// Snapshots, suspend and kept disposable sessions as a person uses them:
// the vivarium binary driving the real test guest under QEMU. The guest's
// /tmp is a tmpfs, so a file there proves that memory was saved and
// restored; its boot id and uptime prove it was not rebooted.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/internal/testguest"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/importer/importertest"
	"github.com/vivarium-vm/vivarium/vm/snapshot"
)

// do has the guest run an action through the control server, failing the
// test when it does not answer or the action fails.
func (v *guestVM) do(c *testguest.Control, action string) string {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	r, err := c.Do(ctx, action)
	if err != nil {
		runnerLog, _ := os.ReadFile(v.b.RunnerLogPath())
		console, _ := os.ReadFile(v.b.ConsoleLogPath())
		v.t.Fatalf("%v\nconsole:\n%s\nrunner.log:\n%s", err, console, runnerLog)
	}
	if !r.OK {
		v.t.Fatalf("guest action %s failed: %s", action, r.Detail)
	}
	return r.Detail
}

func (v *guestVM) command(args ...string) *exec.Cmd {
	cmd := exec.Command(v.bin, args...)
	cmd.Env = append(os.Environ(), "VIVARIUM_HOME="+v.home)
	return cmd
}

func (v *guestVM) uptime(c *testguest.Control) testguest.Uptime {
	v.t.Helper()
	u, err := testguest.ParseUptime(v.do(c, testguest.ActionUptime))
	if err != nil {
		v.t.Fatal(err)
	}
	return u
}

func (v *guestVM) snapshots() []*snapshot.Info {
	v.t.Helper()
	var infos []*snapshot.Info
	if err := json.Unmarshal([]byte(v.must("snapshots", "--json", v.name)), &infos); err != nil {
		v.t.Fatal(err)
	}
	return infos
}

// TestLiveSnapshotSuspendAndRestoreKeepTheGuestsMemory boots the guest once:
// a tmpfs file written before a live snapshot and removed after it is back
// after restore + start, with the disk as it was, while what was made after
// the snapshot is gone; suspend → start resumes the same boot, tmpfs kept.
func TestLiveSnapshotSuspendAndRestoreKeepTheGuestsMemory(t *testing.T) {
	ctl := testguest.StartControl(t)
	v := newGuestVM(t, "mem", testguest.Cmdline(nil, nil)+" "+ctl.Param(), "--network", "nat")
	v.must("start", "--headless", v.name)
	v.waitConsole(testguest.IdleMarker)
	v.do(ctl, testguest.TmpfsWrite("before"))
	v.do(ctl, testguest.DiskWrite("at-snapshot"))
	atSnapshot := v.uptime(ctl)

	if out := v.must("snapshot", "--live", v.name, "s1"); !strings.Contains(out, "with memory") {
		t.Errorf("live snapshot said %q", out)
	}
	if got := v.state(); got != "running" {
		t.Errorf("after a live snapshot the VM is %q, want running", got)
	}
	v.do(ctl, testguest.TmpfsRemove("before"))
	v.do(ctl, testguest.TmpfsWrite("after"))
	v.do(ctl, testguest.DiskWrite("after-snapshot"))

	// Suspend, then start: the same boot goes on, its memory kept.
	beforeSuspend := v.uptime(ctl)
	v.must("suspend", v.name)
	if got := v.state(); got != "suspended" {
		t.Fatalf("after suspend the VM is %q", got)
	}
	v.must("start", "--headless", v.name)
	resumed := v.uptime(ctl)
	if resumed.BootID != beforeSuspend.BootID || resumed.Seconds < beforeSuspend.Seconds {
		t.Errorf("suspend → start rebooted the guest: before %+v, after %+v", beforeSuspend, resumed)
	}
	if got := v.do(ctl, testguest.ActionFiles); got != "after" {
		t.Errorf("tmpfs after suspend → start holds %q, want after", got)
	}
	if _, err := os.Stat(v.b.SavedStatePath()); !os.IsNotExist(err) {
		t.Error("the saved state is still there after the VM resumed from it")
	}
	v.must("stop", "--force", v.name)

	// Restore the live snapshot: memory and disk as they were at it.
	if out := v.must("restore", v.name, "s1"); !strings.Contains(out, "resumes") {
		t.Errorf("restore said %q", out)
	}
	if got := v.state(); got != "suspended" {
		t.Errorf("after restoring a snapshot with memory the VM is %q, want suspended", got)
	}
	v.must("start", "--headless", v.name)
	restored := v.uptime(ctl)
	if restored.BootID != atSnapshot.BootID {
		t.Errorf("restore + start rebooted the guest: boot %s, want %s", restored.BootID, atSnapshot.BootID)
	}
	if got := v.do(ctl, testguest.ActionFiles); got != "before" {
		t.Errorf("tmpfs after restore holds %q, want before (and not after)", got)
	}
	if got := v.do(ctl, testguest.ActionDiskRead); got != "at-snapshot" {
		t.Errorf("disk after restore starts %q, want at-snapshot", got)
	}
	v.must("stop", "--force", v.name)
	if infos := v.snapshots(); len(infos) != 1 || infos[0].Broken() || !infos[0].Memory {
		t.Errorf("snapshots after restore: %+v", infos)
	}
}

// TestRefusedLiveSnapshotChangesNothing mounts a 9p share in the guest,
// which QEMU cannot migrate: a live snapshot and a suspend are refused with
// the reason, the VM runs on, and no snapshot is listed. Then, stopped, a
// snapshot killed with SIGKILL while it copies leaves nothing listed and
// the VM's files as they were, and so does a restore killed while it
// stages the snapshot's files.
func TestRefusedLiveSnapshotChangesNothing(t *testing.T) {
	share := t.TempDir()
	v := newGuestVM(t, "shared", testguest.Cmdline([]string{"data"}, nil), "--share", share+":data")
	v.must("start", "--headless", v.name)
	v.waitConsole(testguest.IdleMarker)
	for _, args := range [][]string{{"snapshot", "--live", v.name, "refused"}, {"suspend", v.name}} {
		out, err := v.run(args...)
		if err == nil {
			t.Fatalf("vivarium %s succeeded with a mounted 9p share", strings.Join(args, " "))
		}
		t.Logf("vivarium %s: %s", args[0], strings.TrimSpace(out))
		if !strings.Contains(out, `shared folder`) || !strings.Contains(out, "data") || !strings.Contains(out, "unmount") {
			t.Errorf("vivarium %s: refusal does not name the share and what to do: %s", args[0], out)
		}
		if got := v.state(); got != "running" {
			t.Errorf("after the refused %s the VM is %q, want running", args[0], got)
		}
	}
	if infos := v.snapshots(); len(infos) != 0 {
		t.Errorf("a refused snapshot is listed: %+v", infos[0])
	}
	if _, err := os.Stat(v.b.SavedStatePath()); !os.IsNotExist(err) {
		t.Error("a refused suspend left a saved state")
	}
	v.must("stop", "--force", v.name)

	// Enough data that copying it takes a while on a filesystem without
	// clones (a clone is instant, then the kill may come after the end).
	disk := v.b.DiskPath(vm.DiskFileName(0))
	os.Truncate(disk, 512<<20)
	f, _ := os.OpenFile(disk, os.O_RDWR, 0)
	buf := make([]byte, 1<<20)
	for off := int64(0); off < 512<<20; off += int64(len(buf)) {
		rand.Read(buf)
		f.WriteAt(buf, off)
	}
	f.Close()
	before := importertest.FileSum(t, disk)
	cmd := v.command("snapshot", v.name, "killed")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		m, _ := filepath.Glob(filepath.Join(v.b.SnapshotsDir(), ".taking-*", vm.DiskFileName(0)))
		if len(m) > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if infos := v.snapshots(); len(infos) != 0 {
		t.Errorf("a snapshot killed midway is listed: %+v", infos[0])
	}
	if importertest.FileSum(t, disk) != before {
		t.Error("a killed snapshot changed the VM's disk")
	}
	v.must("snapshot", v.name, "killed") // the name is free, and it works
	if m, _ := filepath.Glob(filepath.Join(v.b.SnapshotsDir(), ".*")); len(m) != 0 {
		t.Errorf("the killed snapshot's files were not cleaned up by the next one: %v", m)
	}
	if infos := v.snapshots(); len(infos) != 1 || infos[0].Broken() {
		t.Errorf("snapshots after a retry: %+v", infos)
	}

	// A restore killed while it stages the snapshot's disk leaves the VM
	// as it was (with what it wrote since the snapshot) and the snapshot
	// intact; the next restore works.
	f, _ = os.OpenFile(disk, os.O_RDWR, 0)
	f.WriteAt([]byte("written after the snapshot"), 4096)
	f.Close()
	changed := importertest.FileSum(t, disk)
	cmd = v.command("restore", v.name, "killed")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	staged := filepath.Join(v.b.RestoringDir(), vm.DiskFileName(0))
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, err := os.Stat(staged); err == nil {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	if err := cmd.Wait(); err == nil {
		t.Log("the restore finished before the kill (a filesystem with clones is that quick); nothing to check midway")
	} else if importertest.FileSum(t, disk) != changed {
		t.Error("a restore killed while staging changed the VM's disk")
	}
	if infos := v.snapshots(); len(infos) != 1 || infos[0].Broken() {
		t.Errorf("snapshots after a killed restore: %+v", infos)
	}
	if got := v.state(); got != "stopped" {
		t.Errorf("after a killed restore the VM is %q, want stopped", got)
	}
	v.must("restore", v.name, "killed")
	if importertest.FileSum(t, disk) != before {
		t.Error("the restore after a killed one did not bring back the snapshot's disk")
	}
	if _, err := os.Stat(v.b.RestoringDir()); !os.IsNotExist(err) {
		t.Errorf("the killed restore's staging folder is still there: %v", err)
	}
}

// TestKeptDisposableSessionBootsAsANewVM runs a VM disposable, writes its
// disk, keeps the session as a new VM, and boots that: the session's write
// is there, and the base VM's disk is byte-identical.
func TestKeptDisposableSessionBootsAsANewVM(t *testing.T) {
	v := newGuestVM(t, "base", testguest.Cmdline(nil, []string{testguest.DiskWrite("from-session")}))
	base := v.b.DiskPath(vm.DiskFileName(0))
	before := importertest.FileSum(t, base)
	v.must("start", "--headless", "--disposable", v.name)
	v.waitConsole(testguest.IdleMarker)
	if out := v.must("stop", "--force", "--keep-as", "kept", v.name); !strings.Contains(out, "kept") {
		t.Errorf("stop --keep-as said %q", out)
	}
	if importertest.FileSum(t, base) != before {
		t.Fatal("keeping a disposable session changed the base disk")
	}
	kept := &guestVM{t: t, bin: v.bin, home: v.home, name: "kept", b: vm.Bundle{Dir: filepath.Join(v.home, "kept"+vm.BundleExt)}}
	t.Cleanup(func() {
		if kept.b.Locked() {
			kept.run("stop", "--force", kept.name)
		}
	})
	kept.must("set", kept.name, "boot.cmdline="+testguest.Cmdline(nil, []string{testguest.ActionDiskRead}))
	kept.must("start", "--headless", kept.name)
	text := kept.waitConsole(testguest.IdleMarker)
	kept.must("stop", "--force", kept.name)
	if r, ok := testguest.FindResult(testguest.ParseResults(text), testguest.ActionDiskRead); !ok || r.Detail != "from-session" {
		t.Errorf("the kept VM's disk reads %+v, want the session's write", r)
	}
	if importertest.FileSum(t, base) != before {
		t.Error("running the kept VM changed the base disk")
	}
}
