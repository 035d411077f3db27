package desktopguest

import (
	"context"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/internal/testguest"
)

// buildTimeout bounds a cold build: debootstrap and a few hundred packages
// from Debian's mirror.
const buildTimeout = 30 * time.Minute

// Require returns the desktop guest for a test that boots it: the test is
// skipped, with the reason, when QEMU is absent, and fails when the guest
// cannot be built.
func Require(t testing.TB) Guest {
	t.Helper()
	if _, reason := testguest.QEMUAvailable(); reason != "" {
		testguest.SkipOrFail(t, reason)
	}
	ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
	defer cancel()
	g, err := Ensure(ctx)
	if err != nil {
		t.Fatalf("desktop guest: %v", err)
	}
	return g
}
