//go:build unix

package oci

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// storeHold is a flock on the store: pulls share it, Prune takes it alone.
type storeHold struct{ f *os.File }

func (s Store) lock(exclusive bool) (*storeHold, error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("content store %s: %w", s.Dir, err)
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, storeLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("content store %s: %w", s.Dir, err)
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	if err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			if exclusive {
				return nil, fmt.Errorf("a pull is using the content store; try again when it is done")
			}
			return nil, fmt.Errorf("the content store is being pruned; try again in a moment")
		}
		return nil, fmt.Errorf("content store %s: %w", s.Dir, err)
	}
	return &storeHold{f: f}, nil
}

// processGone reports whether no process has the id pid.
func processGone(pid int) bool { return errors.Is(unix.Kill(pid, 0), unix.ESRCH) }

func (h *storeHold) unlock() {
	if h != nil && h.f != nil {
		h.f.Close()
		h.f = nil
	}
}
