package qemu

import (
	"slices"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

func TestViewerArgs(t *testing.T) {
	for _, dir := range []string{"/vms/Demo.vm", "/home/me/VMs/Work Desktop.vm"} {
		b := vm.Bundle{Dir: dir}
		args := viewerArgs("/usr/bin/remote-viewer", b.SpiceSocketPath(), b.Name())
		want := []string{"/usr/bin/remote-viewer", "--title", b.Name(), "--auto-resize=always", "--spice-disable-audio",
			"spice+unix://" + b.SpiceSocketPath()}
		if !slices.Equal(args, want) {
			t.Errorf("viewerArgs = %q, want %q", args, want)
		}
	}
}
