package oci

import (
	"crypto/sha256"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestZeroDigestsAreTheDigestsOfZeros(t *testing.T) {
	for size, want := range zeroDigests {
		h := sha256.New()
		h.Write(make([]byte, size))
		if got := digest.NewDigest(digest.SHA256, h); got != want {
			t.Errorf("zero digest of %d bytes = %s, the table says %s", size, got, want)
		}
	}
	if got, want := zeroDigest(3000), digest.FromBytes(make([]byte, 3000)); got != want {
		t.Errorf("zeroDigest(3000) = %s, want %s", got, want)
	}
}
