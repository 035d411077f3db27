package main

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/control"
	"github.com/vivarium-vm/vivarium/vm/hostcap"
	"github.com/vivarium-vm/vivarium/vm/qemu"
)

func TestGUIHostGreysOutWithHostcapsSentences(t *testing.T) {
	linux := hostcap.Host{OS: "linux", Arch: "amd64"}
	sonoma := hostcap.Host{OS: "darwin", Arch: "arm64", Version: hostcap.Version{Major: 14}}
	ventura := hostcap.Host{OS: "darwin", Arch: "arm64", Version: hostcap.Version{Major: 13}}
	qemuVM := vm.NewConfig("q", vm.OSLinux)
	qemuVM.Backend = vm.BackendQEMU
	vzVM := vm.NewConfig("v", vm.OSLinux)
	vzVM.Backend = vm.BackendVZ
	tests := []struct {
		name    string
		host    hostcap.Host
		c       *vm.Config
		feature ui.Feature
		want    string // "" means available
		viewer  string // qemu.DetectViewer's answer
	}{
		{"macOS guests on Linux", linux, qemuVM, ui.FeatureMacOSGuest, "macOS guests need macOS on a Mac with Apple silicon (this is linux/amd64)", ""},
		{"Rosetta on Linux", linux, qemuVM, ui.FeatureRosetta, "Rosetta for Linux needs macOS on a Mac with Apple silicon", ""},
		{"suspend with QEMU", sonoma, qemuVM, ui.FeatureSuspend, qemuNoSuspend, ""},
		{"suspend with vz on Sonoma", sonoma, vzVM, ui.FeatureSuspend, "", ""},
		{"suspend with vz on Ventura", ventura, vzVM, ui.FeatureSuspend, "Suspending and resuming a VM needs macOS 14 or later on this Mac (it has macOS 13.0)", ""},
		{"auto-resize with vz on Ventura", ventura, vzVM, ui.FeatureAutoResize, "Display auto-resize needs macOS 14 or later on this Mac (it has macOS 13.0)", ""},
		{"auto-resize with QEMU anywhere", linux, qemuVM, ui.FeatureAutoResize, "", ""},
		{"vz on Linux", linux, vzVM, ui.FeatureVZ, "Apple Virtualization (backend \"vz\") needs macOS on a Mac (this is linux/amd64)", ""},
		{"QEMU for macOS guests", sonoma, vm.NewConfig("m", vm.OSMacOS), ui.FeatureQEMU, qemuNoMacOS, ""},
		{"clipboard with QEMU and the SPICE viewer", linux, qemuVM, ui.FeatureClipboard, "", qemu.ViewerSPICE},
		{"clipboard with QEMU's own window on Linux", linux, qemuVM, ui.FeatureClipboard, "Sharing the clipboard with a QEMU VM on Linux needs the SPICE viewer remote-viewer (Debian/Ubuntu: apt-get install virt-viewer)", qemu.ViewerQEMU},
		{"clipboard with QEMU's Cocoa window", sonoma, qemuVM, ui.FeatureClipboard, "", qemu.ViewerQEMU},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := guiHost{host: tt.host, qemuViewer: tt.viewer}.Unavailable(tt.c, tt.feature)
			if (tt.want == "") != (got == "") || !strings.HasPrefix(got, tt.want) {
				t.Errorf("Unavailable = %q, want %q", got, tt.want)
			}
		})
	}
}

// fakeRunner answers on a control socket like a runner whose VM runs.
type fakeRunner struct {
	mu      sync.Mutex
	state   vm.State
	changes chan vm.State
}

func (r *fakeRunner) State() vm.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

func (r *fakeRunner) set(s vm.State) error {
	r.mu.Lock()
	r.state = s
	r.mu.Unlock()
	r.changes <- s
	return nil
}

func (r *fakeRunner) Pause(context.Context) error              { return r.set(vm.StatePaused) }
func (r *fakeRunner) Resume(context.Context) error             { return r.set(vm.StateRunning) }
func (r *fakeRunner) Stop(context.Context, bool) error         { return r.set(vm.StateStopping) }
func (r *fakeRunner) Suspend(context.Context) error            { return vm.ErrUnsupported }
func (r *fakeRunner) Screenshot(context.Context, string) error { return vm.ErrUnsupported }
func (r *fakeRunner) ShowWindow(context.Context) error         { return nil }
func (r *fakeRunner) Subscribe() (<-chan vm.State, func())     { return r.changes, func() {} }

// next waits for the next state change of name.
func next(t *testing.T, ch <-chan ui.StateChange, name string) vm.State {
	t.Helper()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("the subscription ended")
			}
			if ev.Name == name {
				return ev.State
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no state change of %s in 5s", name)
		}
	}
}

func TestGUIControllerReattachesToARunningVMAndFollowsIt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lib, err := vm.OpenLibrary(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lib.Create(ctx, vm.NewConfig("Demo", vm.OSLinux), vm.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A runner that was running before the GUI opened.
	b, _ := lib.Bundle("Demo")
	lock, err := b.TryLock()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := control.Listen(b.ControlSocketPath())
	if err != nil {
		t.Fatal(err)
	}
	runner := &fakeRunner{state: vm.StateRunning, changes: make(chan vm.State, 4)}
	go control.Serve(ctx, ln, runner)

	ctl := &guiController{lib: lib}
	events, err := ctl.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := next(t, events, "Demo"); got != vm.StateRunning {
		t.Fatalf("re-attached state = %s, want running", got)
	}
	if err := ctl.Pause(ctx, "Demo"); err != nil {
		t.Fatal(err)
	}
	if got := next(t, events, "Demo"); got != vm.StatePaused {
		t.Fatalf("after Pause, state = %s, want paused", got)
	}
	if err := ctl.Suspend(ctx, "Demo"); err == nil || !strings.Contains(err.Error(), vm.ErrUnsupported.Error()) {
		t.Errorf("Suspend on a runner that cannot = %v, want it to say %q", err, vm.ErrUnsupported)
	}

	// The VM stops: the runner ends the stream, lets go and goes away.
	close(runner.changes)
	if got := next(t, events, "Demo"); got != vm.StateStopped {
		t.Fatalf("state = %s when the VM stopped, want stopped", got)
	}
	ln.Close()
	os.Remove(b.ControlSocketPath())
	lock.Unlock()
	if got := next(t, events, "Demo"); got != vm.StateStopped {
		t.Fatalf("state = %s once the runner went, want stopped", got)
	}
}

func TestGUIControllerSaysWhyAStoppedVMCannotPause(t *testing.T) {
	lib, err := vm.OpenLibrary(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lib.Create(context.Background(), vm.NewConfig("Idle", vm.OSLinux), vm.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = (&guiController{lib: lib}).Pause(context.Background(), "Idle")
	if err == nil || !strings.Contains(err.Error(), "Idle") || !strings.Contains(err.Error(), "start it first") {
		t.Errorf("Pause of a stopped VM = %v, want it to name the VM and say to start it first", err)
	}
}
