//go:build unix

package qemu

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/internal/testguest"
)

// TestReapOrphanStopsQEMUWithoutRunner starts a QEMU the way a dead runner
// would have left it and checks the next start's clean-up stops it.
func TestReapOrphanStopsQEMUWithoutRunner(t *testing.T) {
	bin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		testguest.SkipOrFail(t, "qemu-system-x86_64 not found: the orphan test needs QEMU (Debian: apt-get install qemu-system-x86)")
	}
	pidPath := filepath.Join(t.TempDir(), "qemu.pid")
	cmd := exec.Command(bin, "-M", "none", "-nodefaults", "-display", "none", "-S", "-pidfile", pidPath)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	for i := 0; i < 200; i++ {
		if st, err := os.Stat(pidPath); err == nil && st.Size() > 0 {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	reapOrphan(pidPath, io.Discard)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the orphaned QEMU is still running after reapOrphan")
	}
	// With nobody holding the pid file, nothing is killed.
	reapOrphan(pidPath, io.Discard)
}
