package qemu

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
)

// viewerArgs is the SPICE client's command line, argv[0] included, for a
// VM's window: titled with the VM's name, the guest following every window
// size, sound left to QEMU's own audio device.
func viewerArgs(program, socket, title string) []string {
	// The viewer takes the path as it is, after refusing a URI with a space
	// (and not decoding a %20): Bundle.SpiceSocketPath is always plain.
	return []string{program, "--title", title, "--auto-resize=always", "--spice-disable-audio", "spice+unix://" + socket}
}

// spiceInstance is a running VM shown by the SPICE viewer, a program of its
// own: closing the window leaves the VM running, and it can open again.
type spiceInstance struct {
	*instance
	viewer string // ViewerProgram's path
}

var _ vm.WindowReopener = (*spiceInstance)(nil)

// WindowReopens: the viewer can be started again while the VM runs.
func (s *spiceInstance) WindowReopens() bool { return true }

// RunWindow shows the VM's screen in the SPICE viewer until a person closes
// the window (the VM keeps running), the VM stops (the window closes with
// it) or ctx ends (the runner closes it, to open it anew in front). The
// viewer's chatter is kept for the error when it fails.
func (s *spiceInstance) RunWindow(ctx context.Context, title string) error {
	select {
	case <-s.exited:
		return vm.ErrNotRunning
	default:
	}
	args := viewerArgs(s.viewer, s.bundle.SpiceSocketPath(), title)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	// Closed by the runner: asked to quit (SIGTERM), killed if it does not
	// within WaitDelay.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 3 * time.Second
	tail := &tailWriter{}
	cmd.Stdout, cmd.Stderr = tail, tail
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("opening the VM's window with %s: %w", ViewerProgram, err)
	}
	closed := make(chan error, 1)
	go func() { closed <- cmd.Wait() }()
	select {
	case err := <-closed:
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("the VM's window (%s) failed: %w%s", ViewerProgram, err, tail.lastLines())
		}
		return nil
	case <-s.exited:
		cmd.Process.Kill()
		<-closed
		return nil
	}
}
