//go:build darwin && amd64

package vz

import (
	"context"

	"github.com/vivarium-vm/vivarium/vm/hostcap"
)

// SaveState refuses: vz/v3 saves machine state only on Apple silicon.
func (i *instance) SaveState(ctx context.Context, path string) error {
	return unsupportedHere(hostcap.SaveRestore)
}

// CaptureState refuses: vz/v3 saves machine state only on Apple silicon.
func (i *instance) CaptureState(ctx context.Context, path string) error {
	return unsupportedHere(hostcap.SaveRestore)
}

func (i *instance) restore(ctx context.Context, path string) error {
	return unsupportedHere(hostcap.SaveRestore)
}
