package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/control"
)

// guiStartTimeout bounds how long Start waits for a VM to run.
const guiStartTimeout = 2 * time.Minute

// guiController runs VMs for the GUI the way the CLI does: Start spawns a
// detached runner, everything else goes over the VM's control socket, so
// VMs outlive the window.
type guiController struct {
	lib *vm.Library
}

var _ ui.Controller = (*guiController)(nil)

func (c *guiController) Start(ctx context.Context, name string, opts ui.StartOptions) error {
	ctx, cancel := context.WithTimeout(ctx, guiStartTimeout)
	defer cancel()
	var extra []string
	if opts.Disposable {
		extra = append(extra, "--disposable")
	}
	_, err := startRunner(ctx, c.lib, name, extra)
	return err
}

func (c *guiController) Stop(ctx context.Context, name string, force bool) error {
	return c.send(ctx, name, control.Request{Op: control.OpStop, Force: force})
}

func (c *guiController) Pause(ctx context.Context, name string) error {
	return c.send(ctx, name, control.Request{Op: control.OpPause})
}

func (c *guiController) Resume(ctx context.Context, name string) error {
	return c.send(ctx, name, control.Request{Op: control.OpResume})
}

func (c *guiController) Suspend(ctx context.Context, name string) error {
	return c.send(ctx, name, control.Request{Op: control.OpSuspend})
}

func (c *guiController) ShowWindow(ctx context.Context, name string) error {
	return c.send(ctx, name, control.Request{Op: control.OpShow})
}

func (c *guiController) send(ctx context.Context, name string, req control.Request) error {
	_, err := sendControl(ctx, c.lib, name, req)
	return err
}

// guiFollowEvery is how often the library is looked over for runners the
// GUI does not follow yet (started by the CLI, or before the GUI).
const guiFollowEvery = time.Second

// guiRunnerExit is how long a runner may take to exit after its VM stopped.
const guiRunnerExit = 10 * time.Second

// Subscribe follows every runner's control socket: those already running
// when the GUI opens (it re-attaches to them) and those started later.
func (c *guiController) Subscribe(ctx context.Context) (<-chan ui.StateChange, error) {
	out := make(chan ui.StateChange, 16)
	go c.follow(ctx, out)
	return out, nil
}

func (c *guiController) follow(ctx context.Context, out chan<- ui.StateChange) {
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		close(out)
	}()
	send := func(ev ui.StateChange) {
		select {
		case out <- ev:
		case <-ctx.Done():
		}
	}
	following := map[string]bool{}
	ended := make(chan string)
	tick := time.NewTicker(guiFollowEvery)
	defer tick.Stop()
	scan := func() {
		for _, b := range c.runnerBundles() {
			name := b.Name()
			if following[name] {
				continue
			}
			following[name] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				if states, err := control.NewClient(b.ControlSocketPath()).Subscribe(ctx); err == nil {
					for s := range states {
						send(ui.StateChange{Name: name, State: s})
					}
				}
				// The stream ended: the VM stopped, or its runner went away.
				// Once the runner lets go of the VM, say what the library
				// sees (stopped, suspended, or running again).
				if waitUnlocked(ctx, b, guiRunnerExit) {
					if info, err := c.lib.Inspect(ctx, name); err == nil {
						send(ui.StateChange{Name: name, State: info.State})
					}
				}
				select {
				case ended <- name:
				case <-ctx.Done():
				}
			}()
		}
	}
	scan()
	for {
		select {
		case <-ctx.Done():
			return
		case name := <-ended:
			delete(following, name)
		case <-tick.C:
			scan()
		}
	}
}

// runnerBundles lists the VMs whose control socket exists. It only looks
// at files: it never touches a lock a runner may be about to take.
func (c *guiController) runnerBundles() []vm.Bundle {
	entries, err := os.ReadDir(c.lib.Root)
	if err != nil {
		return nil
	}
	var out []vm.Bundle
	for _, e := range entries {
		if !e.IsDir() || !strings.HasSuffix(e.Name(), vm.BundleExt) || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b := vm.Bundle{Dir: filepath.Join(c.lib.Root, e.Name())}
		if _, err := os.Stat(b.ControlSocketPath()); err == nil {
			out = append(out, b)
		}
	}
	return out
}
