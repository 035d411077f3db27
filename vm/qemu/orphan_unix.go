//go:build unix

package qemu

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// reapOrphan stops a QEMU that outlived its runner. On Linux the parent
// death signal already took it down; macOS has none, so a runner killed
// with -9 leaves QEMU running. The caller holds the VM's lock, so any QEMU
// still holding this VM's pid file (QEMU locks it while it runs) is an
// orphan of an earlier run.
func reapOrphan(pidPath string, log io.Writer) {
	f, err := os.OpenFile(pidPath, os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk); err != nil || lk.Type == unix.F_UNLCK {
		return // nobody holds it: no QEMU left
	}
	data, _ := io.ReadAll(f)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return
	}
	fmt.Fprintf(log, "qemu: process %d of an earlier run is still running without its runner; stopping it\n", pid)
	syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 50 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(20 * time.Millisecond)
	}
}
