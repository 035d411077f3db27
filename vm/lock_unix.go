//go:build unix

package vm

import (
	"errors"
	"fmt"
	"os"

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
