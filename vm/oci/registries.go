package oci

import (
	"context"
	"strings"

	"oras.land/oras-go/v2/registry/remote/credentials"

	"github.com/vivarium-vm/vivarium/vm"
)

// Registries is a library's way to registries as a window asks for it:
// what a form gives in, the VM or an error out.
type Registries struct {
	Lib *vm.Library
	// Credentials, when set, replaces Docker's credential store.
	Credentials credentials.Store
}

func (r Registries) options(insecure bool, progress vm.Progress) Options {
	return Options{Insecure: insecure, Progress: progress, Credentials: r.Credentials}
}

// Pull makes the VM name from the image ref.
func (r Registries) Pull(ctx context.Context, ref, name string, insecure bool, progress vm.Progress) (*vm.Info, error) {
	res, err := Pull(ctx, r.Lib, strings.TrimSpace(ref), name, r.options(insecure, progress))
	if err != nil {
		return nil, err
	}
	return res.Info, nil
}

// Push sends the stopped VM name to the registry as ref.
func (r Registries) Push(ctx context.Context, name, ref string, insecure bool, progress vm.Progress) error {
	_, err := Push(ctx, r.Lib, name, strings.TrimSpace(ref), r.options(insecure, progress))
	return err
}

// CheckReference says what is wrong with an image reference, or nil.
func (Registries) CheckReference(ref string) error {
	_, err := ParseReference(strings.TrimSpace(ref))
	return err
}

// DefaultName is the VM name a pull of ref proposes, or "".
func (Registries) DefaultName(ref string) string {
	name, err := DefaultName(strings.TrimSpace(ref))
	if err != nil {
		return ""
	}
	return name
}
