package testguest

import (
	"context"
	"testing"
	"time"
)

// Require returns the test guest for a test that boots it: the test is
// skipped, with the reason, when QEMU is absent (a failure when
// VIVARIUM_REQUIRE_QEMU=1, as in CI), and fails when the guest cannot be
// built. It also settles, once per process, which accelerator boots the
// guest (UseAccel), so every VM the test starts uses it.
func Require(t testing.TB) Guest {
	t.Helper()
	if _, reason := QEMUAvailable(); reason != "" {
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
