//go:build unix

package vm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Lock is a held flock(2) on a VM's run/lock. The kernel drops it when the
// holding process dies, so a crash never leaves a VM stuck as running.
type Lock struct{ f *os.File }

// TryLock takes the VM's lock without waiting. It returns ErrLocked when
// another process holds it.
func (b Bundle) TryLock() (*Lock, error) {
	if err := b.EnsureRunDir(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(b.LockPath(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.LockPath(), err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", b.Name(), ErrLocked)
		}
		return nil, fmt.Errorf("%s: %w", b.LockPath(), err)
	}
	return &Lock{f: f}, nil
}

// Locked reports whether some process holds the VM's lock, without
// creating anything.
func (b Bundle) Locked() bool {
	// Raw calls: listing a large library asks this of every VM.
	fd, err := unix.Open(b.LockPath(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	// A shared lock conflicts with the runner's exclusive one, and closing
	// the descriptor drops it.
	err = unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB)
	return errors.Is(err, unix.EWOULDBLOCK)
}

// configLockWait bounds how long a change of config.toml waits for another
// one to finish; each holds the lock for milliseconds.
const configLockWait = 30 * time.Second

// LockConfig takes the VM's config lock (.config.lock in its folder),
// waiting while another process holds it, so that reading config.toml,
// changing it and writing it back never loses another process's change.
// It is not the run lock: a running VM's config can still be edited.
func (b Bundle) LockConfig(ctx context.Context) (*Lock, error) {
	f, err := os.OpenFile(b.ConfigLockPath(), os.O_RDWR|os.O_CREATE, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%q: %w; see the VMs with 'vivarium list'", b.Name(), ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.ConfigLockPath(), err)
	}
	ctx, cancel := context.WithTimeout(ctx, configLockWait)
	defer cancel()
	wait := time.Millisecond
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return &Lock{f: f}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("%s: %w", b.ConfigLockPath(), err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("the settings of %q are being changed by another process: %w; try again", b.Name(), ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 20*time.Millisecond)
	}
}

// File is the open lock file; a runner passes it to children that must die
// with it.
func (l *Lock) File() *os.File { return l.f }

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
