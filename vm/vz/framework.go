package vz

import (
	"fmt"
	"strings"

	"github.com/vivarium-vm/vivarium/vm"
)

// noBridgeError is the refusal of bridged networking on iface when macOS
// offered the interfaces in offered. macOS lists no interface at all to a
// process without the com.apple.vm.networking entitlement, so an empty
// list means the entitlement is missing, not the interface.
func noBridgeError(iface string, offered []string) error {
	if len(offered) == 0 {
		return fmt.Errorf("network.interface %q: %w: bridged networking needs Vivarium to be signed with Apple's com.apple.vm.networking entitlement, which Apple grants on request only, and this copy lacks it (macOS offers it no interface to bridge); set network.mode = \"nat\"", iface, vm.ErrUnsupported)
	}
	return fmt.Errorf("network.interface %q cannot be bridged; this Mac offers %s", iface, strings.Join(offered, ", "))
}

// sdkTooOldError explains vz's ErrBuildTargetOSVersion: this macOS has the
// feature, but Vivarium was built with an older macOS SDK, so vz compiled
// it out.
func sdkTooOldError(err error) error {
	return fmt.Errorf("%w: this copy of Vivarium was built with a macOS SDK older than this feature needs (%w); rebuild it with a newer Xcode (update Xcode or its command line tools, then make build)", vm.ErrUnsupported, err)
}
