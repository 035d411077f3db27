package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
)

var (
	_ vm.StateSaver    = (*instance)(nil)
	_ vm.StateCapturer = (*instance)(nil)
)

// stateBandwidth lifts QEMU's migration speed limit (128 MiB/s by default,
// meant for a network): a paused VM's state goes to a local file as fast as
// the disk takes it.
const stateBandwidth = int64(1) << 40

// CaptureState writes the VM's memory and device state to path through
// QEMU's migration (to a temporary name, synced, then renamed, so a failed
// save never looks like a state). The VM should be paused: QEMU then
// writes its memory once. Afterwards the VM can be resumed (cont) or quit.
// A device QEMU cannot migrate (a mounted 9p share, say) makes QEMU refuse
// before it writes anything; the error names it and says what to do.
func (in *instance) CaptureState(ctx context.Context, path string) error {
	tmp := vm.PartialPath(path)
	os.Remove(tmp)
	if _, err := in.run(ctx, "migrate-set-parameters", map[string]any{"max-bandwidth": stateBandwidth}); err != nil {
		return fmt.Errorf("saving the VM's state: %w", err)
	}
	if err := os.WriteFile(tmp, stateHeader(in.headlessDevices), 0o600); err != nil {
		return fmt.Errorf("saving the VM's state: %w", err)
	}
	if _, err := in.run(ctx, "migrate", map[string]any{"uri": "exec:cat >> " + shellQuote(tmp)}); err != nil {
		os.Remove(tmp)
		return refusal(err)
	}
	if err := in.waitMigration(ctx); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("saving the VM's state: %w", err)
	}
	if err := vm.CommitFile(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("saving the VM's state: %w", err)
	}
	return nil
}

var virtfsBlocker = regexp.MustCompile(`VirtFS export path '([^']*)' is mounted in the guest using mount_tag '([^']*)'`)

// refusal explains why QEMU would not save the state.
func refusal(err error) error {
	msg := err.Error()
	if m := virtfsBlocker.FindStringSubmatch(msg); m != nil {
		return &refused{fmt.Sprintf("the shared folder %q (tag %q) is mounted in the guest, and QEMU cannot save the memory of a VM while a 9p share is in use; unmount it in the guest (umount the %s share) and try again, or stop the VM instead",
			m[1], m[2], m[2])}
	}
	if strings.Contains(msg, "isabled") || strings.Contains(msg, "blocked") {
		return &refused{fmt.Sprintf("QEMU cannot save this VM's memory: %s; remove that device from the VM's settings, or stop the VM instead", strings.TrimPrefix(msg, "QMP migrate: "))}
	}
	return fmt.Errorf("saving the VM's state: %w", err)
}

// refused is a save QEMU refuses because of a device: vm.ErrUnsupported,
// in a sentence of its own.
type refused struct{ msg string }

func (e *refused) Error() string { return e.msg }
func (e *refused) Unwrap() error { return vm.ErrUnsupported }

// waitMigration polls QEMU until the outgoing migration has ended.
func (in *instance) waitMigration(ctx context.Context) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		out, err := in.run(ctx, "query-migrate", nil)
		if err != nil {
			return err
		}
		var r struct {
			Return struct {
				Status    string `json:"status"`
				ErrorDesc string `json:"error-desc"`
			} `json:"return"`
		}
		if err := json.Unmarshal(out, &r); err != nil {
			return fmt.Errorf("query-migrate: %w", err)
		}
		switch r.Return.Status {
		case "completed":
			return nil
		case "failed", "cancelled":
			if r.Return.ErrorDesc == "" {
				r.Return.ErrorDesc = r.Return.Status
			}
			return fmt.Errorf("QEMU: %s", r.Return.ErrorDesc)
		}
		select {
		case <-ctx.Done():
			in.run(context.Background(), "migrate_cancel", nil)
			return context.Cause(ctx)
		case <-tick.C:
		}
	}
}

// SaveState suspends the VM: pause, state to path, quit. The next start
// resumes from path (-incoming); the disks are not touched meanwhile.
func (in *instance) SaveState(ctx context.Context, path string) error {
	if in.disposable {
		return fmt.Errorf("%w: a disposable run cannot be suspended: its disks are thrown away when it stops; stop it instead", vm.ErrUnsupported)
	}
	wasRunning := in.State() == vm.StateRunning
	if err := in.Pause(ctx); err != nil {
		return err
	}
	if err := in.CaptureState(ctx, path); err != nil {
		if wasRunning {
			if rerr := in.Resume(context.WithoutCancel(ctx)); rerr != nil {
				fmt.Fprintf(in.log, "qemu: the VM stays paused after the failed save: %v\n", rerr)
			}
		}
		return err
	}
	return in.ForceStop(ctx)
}

// resumed waits for QEMU to load the saved state at path (given with
// -incoming) and run, then removes the file: once the guest runs on, that
// state is stale and must never be resumed again.
func (in *instance) resumed(ctx context.Context, path string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readyTimeout)
		defer cancel()
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		status, running, err := in.status(ctx)
		if err == nil && running {
			break
		}
		if err == nil && status == "paused" {
			// Saved while paused (as Vivarium saves), so loaded paused.
			if _, err := in.run(ctx, "cont", nil); err != nil {
				return in.abort(fmt.Errorf("resuming from %s: %w", filepath.Base(path), err))
			}
			continue
		}
		if err == nil && status != "inmigrate" && status != "prelaunch" {
			return in.abort(fmt.Errorf("resuming from %s: QEMU's state is %q", filepath.Base(path), status))
		}
		select {
		case <-in.exited:
			return in.abort(fmt.Errorf("resuming from %s: the saved state does not fit this VM; if its settings changed since it was suspended, change them back, or delete %s to start it afresh (what was open in the guest is lost)",
				filepath.Base(path), path))
		case <-ctx.Done():
			return in.abort(fmt.Errorf("resuming from %s: %w", filepath.Base(path), context.Cause(ctx)))
		case <-tick.C:
		}
	}
	in.setState(vm.StateRunning)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(in.log, "qemu: the VM resumed but its saved state %s could not be removed: %v\n", path, err)
	}
	return nil
}

// KeepThrowaway makes the throw-away disk of a disposable run (a qcow2
// overlay, or a clone) a standalone raw image at dst, holes kept. QEMU may
// hold the overlay open: it is read with shared locks.
func (b *Backend) KeepThrowaway(ctx context.Context, throwaway, dst string) error {
	if diskFormat(throwaway) != "qcow2" {
		_, err := vm.CopyDisk(ctx, throwaway, dst, nil)
		return err
	}
	img, err := findProgram(b.QEMUPath, "qemu-img")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, img, "convert", "-U", "-q", "-f", "qcow2", "-O", "raw", throwaway, dst)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(dst)
		return fmt.Errorf("qemu-img convert %s: %w: %s", filepath.Base(throwaway), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// A state file is Vivarium's header, a line padded to stateHeaderSize
// bytes saying which devices the VM had, then QEMU's migration stream.
const (
	stateHeaderSize  = 64
	stateHeaderMagic = "vivarium-qemu-state 1"
)

func stateHeader(headless bool) []byte {
	return []byte(fmt.Sprintf("%-*s\n", stateHeaderSize-1, fmt.Sprintf("%s headless=%v", stateHeaderMagic, headless)))
}

// readStateHeader reads a state file's header. A file without one (QEMU's
// stream alone) is taken as saved with this run's devices.
func readStateHeader(path string, headless bool) (*SavedState, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("resuming: %w", err)
	}
	defer f.Close()
	buf := make([]byte, stateHeaderSize)
	n, _ := f.Read(buf)
	line := strings.TrimSpace(string(buf[:n]))
	if n < stateHeaderSize || !strings.HasPrefix(line, stateHeaderMagic+" ") {
		return &SavedState{Path: path, Headless: headless}, nil
	}
	switch strings.TrimPrefix(line, stateHeaderMagic+" ") {
	case "headless=true":
		headless = true
	case "headless=false":
		headless = false
	default:
		return nil, fmt.Errorf("resuming from %s: its header %q is not one this Vivarium wrote; delete %s to start the VM afresh (what was open in the guest is lost)", filepath.Base(path), line, path)
	}
	return &SavedState{Path: path, Headless: headless, Skip: stateHeaderSize}, nil
}
