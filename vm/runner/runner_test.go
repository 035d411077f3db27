package runner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/control"
	"github.com/vivarium-vm/vivarium/vm/vmtest"
)

func setup(t *testing.T, disposable bool) (*vm.Library, vm.Bundle, *vmtest.Backend) {
	t.Helper()
	lib, err := vm.OpenLibrary(filepath.Join(t.TempDir(), "vms"))
	if err != nil {
		t.Fatal(err)
	}
	c := vm.NewConfig("fake", vm.OSLinux)
	c.Disks = []vm.Disk{{Size: 4 * vm.MiB}}
	c.Disposable = disposable
	c.FillDefaults()
	info, err := lib.Create(context.Background(), c, vm.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return lib, info.Bundle(), &vmtest.Backend{}
}

func start(t *testing.T, lib *vm.Library, be *vmtest.Backend, opts Options) (chan error, *control.Client) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), lib, "fake", func(string) (vm.Backend, error) { return be, nil }, opts)
	}()
	b, _ := lib.Bundle("fake")
	client := control.NewClient(b.ControlSocketPath())
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if s, err := client.Status(context.Background()); err == nil && s == vm.StateRunning {
			return done, client
		}
		select {
		case err := <-done:
			t.Fatalf("runner exited: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("runner did not come up")
	return nil, nil
}

func TestRunnerControlsAndCleansUp(t *testing.T) {
	lib, b, be := setup(t, false)
	ctx := context.Background()
	done, client := start(t, lib, be, Options{})

	info, _ := lib.Inspect(ctx, "fake")
	if info.State != vm.StateRunning {
		t.Errorf("library says %s while the runner runs", info.State)
	}
	if err := Run(ctx, lib, "fake", func(string) (vm.Backend, error) { return be, nil }, Options{}); !errors.Is(err, vm.ErrRunning) {
		t.Errorf("second runner: %v, want ErrRunning", err)
	}
	st, err := os.Stat(b.ControlSocketPath())
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("control socket mode: %v %v", st, err)
	}
	if st, _ := os.Stat(b.RunDir()); st.Mode().Perm() != 0o700 {
		t.Errorf("run dir mode %v, want 0700", st.Mode().Perm())
	}
	changes, err := client.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s := <-changes; s != vm.StateRunning {
		t.Errorf("subscription starts with %s", s)
	}
	if s, err := client.Do(ctx, control.Request{Op: control.OpPause}); err != nil || s != vm.StatePaused {
		t.Fatalf("pause: %s %v", s, err)
	}
	if s := <-changes; s != vm.StatePaused {
		t.Errorf("subscriber saw %s after pause", s)
	}
	if s, err := client.Do(ctx, control.Request{Op: control.OpResume}); err != nil || s != vm.StateRunning {
		t.Fatalf("resume: %s %v", s, err)
	}
	if _, err := client.Do(ctx, control.Request{Op: control.OpSuspend}); err == nil || !strings.Contains(err.Error(), "stop it instead") {
		t.Errorf("suspend on a backend that cannot: %v", err)
	}
	if _, err := client.Do(ctx, control.Request{Op: control.OpStop}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("runner: %v", err)
	}
	var last vm.State
	for s := range changes {
		last = s
	}
	if last != vm.StateStopped {
		t.Errorf("subscription ended on %s", last)
	}
	if _, err := os.Stat(b.ThumbnailPath()); err != nil {
		t.Errorf("no thumbnail saved at stop: %v", err)
	}
	for _, p := range []string{b.ControlSocketPath(), b.PIDPath()} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s left after stop", p)
		}
	}
	if b.Locked() {
		t.Error("lock still held after the runner returned")
	}
	disk, _ := os.ReadFile(b.DiskPath("disk-0.img"))
	if !bytes.HasPrefix(disk, []byte("written by the guest")) {
		t.Error("a normal run's write did not reach the VM's disk")
	}
}

func TestDisposableRunNeverWritesBase(t *testing.T) {
	lib, b, be := setup(t, true)
	before, _ := os.ReadFile(b.DiskPath("disk-0.img"))
	done, client := start(t, lib, be, Options{})
	spec := be.Starts()[0]
	if !spec.Disposable || filepath.Dir(spec.Disks[0]) != b.DisposableDir() {
		t.Fatalf("disposable run uses %v", spec.Disks)
	}
	if _, err := client.Do(context.Background(), control.Request{Op: control.OpStop, Force: true}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(b.DiskPath("disk-0.img"))
	if !bytes.Equal(before, after) {
		t.Error("a disposable run changed the base disk")
	}
	if _, err := os.Stat(b.DisposableDir()); err == nil {
		t.Error("throw-away disks left after the run")
	}
}

func TestRunnerStopsGuestWhenCancelled(t *testing.T) {
	lib, _, be := setup(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, lib, "fake", func(string) (vm.Backend, error) { return be, nil }, Options{StopTimeout: time.Second})
	}()
	for be.Last() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("runner did not stop the VM on cancel")
	}
}

func TestRunnerReportsStartFailure(t *testing.T) {
	lib, b, be := setup(t, true)
	be.CheckErr = errors.New("this host lacks the feature")
	err := Run(context.Background(), lib, "fake", func(string) (vm.Backend, error) { return be, nil }, Options{})
	if err == nil || err.Error() != "this host lacks the feature" {
		t.Fatalf("got %v", err)
	}
	if b.Locked() {
		t.Error("lock held after a failed start")
	}
	if _, err := os.Stat(b.DisposableDir()); err == nil {
		t.Error("disposable dir left after a failed start")
	}
}

func TestPrepareAttachesGuestSetupSeed(t *testing.T) {
	_, b, be := setup(t, false)
	c, err := vm.LoadConfig(b.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	spec, err := Prepare(context.Background(), b, c, be, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Seed != "" {
		t.Errorf("a VM without guest setup gets the seed %q", spec.Seed)
	}
	if err := os.WriteFile(b.SeedPath(), []byte("seed"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, disposable := range []bool{false, true} {
		spec, err := Prepare(context.Background(), b, c, be, Options{Disposable: disposable})
		if err != nil {
			t.Fatal(err)
		}
		if spec.Seed != b.SeedPath() {
			t.Errorf("disposable=%v: the next boot gets seed %q, want %s", disposable, spec.Seed, b.SeedPath())
		}
	}
}

func TestClosedWindowOpensAgainWhileTheVMRuns(t *testing.T) {
	lib, _, be := setup(t, false)
	be.Windows = true
	ctx := context.Background()
	done, client := start(t, lib, be, Options{})
	win := be.Last().Window()
	waitOpened := func(want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if n, open := win.Opened(); n == want && open {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		n, open := win.Opened()
		t.Fatalf("window opened %d times (open now: %v), want %d and open", n, open, want)
	}
	waitOpened(1)
	win.CloseWindow()
	if s, err := client.Status(ctx); err != nil || s != vm.StateRunning {
		t.Fatalf("after the window closed: %s %v, want the VM running", s, err)
	}
	if _, err := client.Do(ctx, control.Request{Op: control.OpShow}); err != nil {
		t.Fatalf("show: %v", err)
	}
	waitOpened(2)
	// Asking again while it is open brings it to the front: the one window
	// is opened anew, never a second beside it.
	if _, err := client.Do(ctx, control.Request{Op: control.OpShow}); err != nil {
		t.Fatalf("show of an open window: %v", err)
	}
	waitOpened(3)
	time.Sleep(100 * time.Millisecond)
	if n, open := win.Opened(); n != 3 || !open {
		t.Errorf("after a show while open: opened %d times (open: %v), want 3 and open", n, open)
	}
	// That request is answered: a person closing the window now closes it.
	win.CloseWindow()
	time.Sleep(100 * time.Millisecond)
	if n, open := win.Opened(); n != 3 || open {
		t.Errorf("after a person closed it: opened %d times (open: %v), want 3 and closed", n, open)
	}
	if _, err := client.Do(ctx, control.Request{Op: control.OpShow}); err != nil {
		t.Fatalf("show: %v", err)
	}
	waitOpened(4)
	if _, err := client.Do(ctx, control.Request{Op: control.OpStop}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("runner: %v", err)
	}
}

func TestShowRefusedWhereTheWindowCannotReopen(t *testing.T) {
	lib, _, be := setup(t, false)
	done, client := start(t, lib, be, Options{})
	if _, err := client.Do(context.Background(), control.Request{Op: control.OpShow}); err == nil || !strings.Contains(err.Error(), "cannot be opened again") {
		t.Errorf("show on a VM without a reopenable window: %v", err)
	}
	client.Do(context.Background(), control.Request{Op: control.OpStop, Force: true})
	<-done
}
