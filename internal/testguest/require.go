package testguest

import (
	"context"
	"testing"
	"time"
)

// Require returns the test guest for a test that boots it: the test is
// skipped, with the reason, when QEMU is absent, and fails when the guest
// cannot be built.
func Require(t testing.TB) Guest {
	t.Helper()
	if _, reason := QEMUAvailable(); reason != "" {
		t.Skip(reason)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	g, err := Ensure(ctx)
	if err != nil {
		t.Fatalf("test guest: %v", err)
	}
	return g
}
