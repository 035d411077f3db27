package testguest

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Require returns the test guest for a test that boots it: the test is
// skipped, with the reason, when QEMU is absent or, off Linux, when no
// guest built on Linux was copied here (a failure when
// VIVARIUM_REQUIRE_QEMU=1, as in CI), and fails when the guest cannot be
// built. It also settles, once per process, which accelerator boots the
// guest (UseAccel), so every VM the test starts uses it.
func Require(t testing.TB) Guest {
	t.Helper()
	if _, reason := QEMUAvailable(); reason != "" {
		SkipOrFail(t, reason)
	}
	if reason := unbuildableHere(runtime.GOOS); reason != "" {
		SkipOrFail(t, reason)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	g, err := Ensure(ctx)
	if err != nil {
		t.Fatalf("test guest: %v", err)
	}
	if _, err := UseAccel(ctx, g); err != nil {
		t.Fatalf("test guest: choosing the accelerator: %v", err)
	}
	return g
}

// unbuildableHere says why the guest can be neither built nor found on an
// OS other than Linux, or "" when Ensure can get it: its recipe takes
// Debian's kernel and busybox through apt-get, so a Mac runs the real-guest
// tests (against Homebrew's QEMU) with a guest built on Linux and copied
// into the cache.
func unbuildableHere(goos string) string {
	if goos == "linux" {
		return ""
	}
	dir, err := DefaultDir()
	if err != nil {
		return err.Error()
	}
	for _, f := range []string{"vmlinux", "initrd.img"} {
		if !isFile(filepath.Join(dir, f)) {
			return fmt.Sprintf("the test guest is built from Debian's packages with apt-get, which %s lacks, and %s has no %s: run `make testguest` on a Linux machine and copy its %s here (or set VIVARIUM_TESTGUEST_DIR) to run the real-guest tests", goos, dir, f, "~/.cache/vivarium/testguest")
		}
	}
	return ""
}
