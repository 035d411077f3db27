//go:build !linux

package oci

import (
	"errors"
	"os"
)

// cloneRange is not available here (APFS clones whole files only); the
// caller copies instead.
func cloneRange(dst, src *os.File, off, n int64) error { return errors.ErrUnsupported }

// copyData has no kernel-side copy here; the caller copies itself.
func copyData(dst, src *os.File, off, n int64) error { return errors.ErrUnsupported }
