package runner

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
)

// What closing a VM's window does. On macOS the vz window's close button
// and its Quit item end the window's event loop while the VM runs on; a VM
// left running with no window and a Dock icon that answers nothing is
// what vz's own examples avoid by stopping the VM when the window is gone,
// and so does Vivarium: the guest is asked to shut down, and forced off if
// it has not after StopTimeout. (A headless run has no window to close.)

// closeAction is what the runner does once the window is closed.
type closeAction int

const (
	// closeNothing: the VM stopped (which closed the window), or is already
	// stopping because someone asked.
	closeNothing closeAction = iota
	// closeShutDown asks the guest to shut down, then forces it off.
	closeShutDown
	// closeResumeAndShutDown first resumes a paused guest, which cannot
	// take a shutdown request while paused.
	closeResumeAndShutDown
)

// afterWindowClosed decides what closing the window does to a VM in state.
func afterWindowClosed(state vm.State) closeAction {
	switch state {
	case vm.StateRunning, vm.StateStarting:
		return closeShutDown
	case vm.StatePaused:
		return closeResumeAndShutDown
	}
	return closeNothing
}

// stopAfterWindowClosed stops the VM whose window (one that cannot be
// opened again) was closed, unless the runner was asked to stop anyway
// (stopOn does that) or the VM is already stopping.
func (r *run) stopAfterWindowClosed(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	action := afterWindowClosed(r.State())
	if action == closeNothing {
		return
	}
	bg := context.Background()
	if action == closeResumeAndShutDown {
		if err := r.inst.Resume(bg); err != nil {
			fmt.Fprintf(r.opts.Log, "window closed: resuming the paused VM to shut it down: %v\n", err)
		}
	}
	r.shutDown("the VM's window was closed")
}

// shutDown asks the guest to shut down and forces it off when it has not
// stopped after StopTimeout, or at once when it cannot take the request.
func (r *run) shutDown(why string) {
	fmt.Fprintf(r.opts.Log, "%s: shutting the guest down (forcing it after %s)\n", why, r.opts.StopTimeout)
	bg := context.Background()
	if err := r.Stop(bg, false); err != nil {
		if strings.Contains(err.Error(), "not running") {
			return
		}
		fmt.Fprintf(r.opts.Log, "polite stop: %v; forcing the VM off\n", err)
		r.inst.ForceStop(bg)
		return
	}
	select {
	case <-r.done:
	case <-time.After(r.opts.StopTimeout):
		fmt.Fprintf(r.opts.Log, "the guest did not shut down within %s; forcing it off\n", r.opts.StopTimeout)
		r.inst.ForceStop(bg)
	}
}
