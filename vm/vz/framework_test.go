package vz

import (
	"errors"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

func TestFrameworkSentences(t *testing.T) {
	buildTarget := errors.New("unsupported build target macOS version: 14 (the maximum is 13)")
	tests := []struct {
		name   string
		err    error
		want   string
		unsupp bool
	}{
		{name: "bridged without the entitlement", err: noBridgeError("en0", nil), unsupp: true,
			want: `network.interface "en0": not supported on this host: bridged networking needs Vivarium to be signed with Apple's com.apple.vm.networking entitlement, which Apple grants on request only, and this copy lacks it (macOS offers it no interface to bridge); set network.mode = "nat"`},
		{name: "bridged on a missing interface", err: noBridgeError("en9", []string{"en0 (Wi-Fi)", "en1 (Thunderbolt)"}),
			want: `network.interface "en9" cannot be bridged; this Mac offers en0 (Wi-Fi), en1 (Thunderbolt)`},
		{name: "built with an old SDK", err: sdkTooOldError(buildTarget), unsupp: true,
			want: "not supported on this host: this copy of Vivarium was built with a macOS SDK older than this feature needs (unsupported build target macOS version: 14 (the maximum is 13)); rebuild it with a newer Xcode (update Xcode or its command line tools, then make build)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err.Error() != tt.want {
				t.Errorf("error =\n  %s\nwant\n  %s", tt.err, tt.want)
			}
			if errors.Is(tt.err, vm.ErrUnsupported) != tt.unsupp {
				t.Errorf("errors.Is(ErrUnsupported) = %v, want %v", !tt.unsupp, tt.unsupp)
			}
		})
	}
	if !errors.Is(sdkTooOldError(buildTarget), buildTarget) {
		t.Error("the SDK sentence lost vz's error")
	}
}
