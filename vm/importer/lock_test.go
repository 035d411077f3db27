//go:build unix

package importer_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vivarium-vm/vivarium/vm/importer"
	"github.com/vivarium-vm/vivarium/vm/importer/importertest"
)

// holdLockEnv makes the test binary a helper process that holds a POSIX
// lock on the named file, as `tart run` holds config.json, until killed.
const holdLockEnv = "IMPORTER_TEST_HOLD_LOCK"

func TestMain(m *testing.M) {
	if path := os.Getenv(holdLockEnv); path != "" {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			os.Exit(2)
		}
		lk := unix.Flock_t{Type: unix.F_WRLCK}
		if err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("locked\n")
		select {}
	}
	os.Exit(m.Run())
}

// TestRunningTartVMIsRefused: while tart runs the VM (its config.json
// locked), the import refuses and says to stop it; once stopped, it works.
func TestRunningTartVMIsRefused(t *testing.T) {
	im, _ := newImporter(t)
	src := filepath.Join(t.TempDir(), "busy")
	importertest.WriteFile(t, filepath.Join(src, "config.json"), []byte(`{"version":1,"os":"linux","arch":"arm64","cpuCount":2,"memorySize":2147483648,"display":{"width":1024,"height":768}}`))
	importertest.Image(t, filepath.Join(src, "disk.img"), "raw", 8*mib, "busy")
	holder := exec.Command(os.Args[0], "-test.run=^$")
	holder.Env = append(os.Environ(), holdLockEnv+"="+filepath.Join(src, "config.json"))
	out, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Process.Kill()
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "locked\n" {
		t.Fatalf("the lock holder said %q", line)
	}
	_, err = im.Import(context.Background(), src, importer.Options{})
	if err == nil || !strings.Contains(err.Error(), "tart stop busy") {
		t.Errorf("import of a running Tart VM: %v", err)
	}
	holder.Process.Kill()
	holder.Wait()
	if _, err := im.Import(context.Background(), src, importer.Options{}); err != nil {
		t.Errorf("import once tart stopped: %v", err)
	}
}
