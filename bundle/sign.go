package bundle

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"howett.net/plist"
)

// VirtualizationEntitlement is what Virtualization.framework asks of any
// process that creates a VM. (Bridged networking would also need
// com.apple.vm.networking, which Apple grants only on request, so Vivarium
// does not claim it.)
const VirtualizationEntitlement = "com.apple.security.virtualization"

// Sign signs the .app (or the bare binary) at appPath ad hoc ("codesign
// --sign -") with the entitlements in entitlementsPath, then verifies the
// signature. An ad-hoc
// signature is enough to run on the Mac that built it; it needs no hardened
// runtime and no Apple developer account. Where codesign is missing it
// returns ErrSigningNeedsMacOS.
func Sign(ctx context.Context, appPath, entitlementsPath string) error {
	if err := checkEntitlements(entitlementsPath); err != nil {
		return err
	}
	if _, err := os.Stat(appPath); err != nil {
		return fmt.Errorf("sign %s: %w", appPath, err)
	}
	codesign, err := exec.LookPath("codesign")
	if err != nil {
		return fmt.Errorf("sign %s: %w", appPath, ErrSigningNeedsMacOS)
	}
	steps := [][]string{
		{"--force", "--sign", "-", "--entitlements", entitlementsPath, appPath},
		{"--verify", "--strict", "--verbose=2", appPath},
	}
	for _, args := range steps {
		cmd := exec.CommandContext(ctx, codesign, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("codesign %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
		}
	}
	return nil
}

// checkEntitlements reads an entitlements file and checks that it grants
// the virtualization entitlement, which every VM start would otherwise fail
// for with a less helpful error.
func checkEntitlements(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read entitlements: %w", err)
	}
	var entitlements map[string]any
	if _, err := plist.Unmarshal(data, &entitlements); err != nil {
		return fmt.Errorf("%s is not a property list: %w", path, err)
	}
	if granted, _ := entitlements[VirtualizationEntitlement].(bool); !granted {
		return fmt.Errorf("%s: %s is not true; without it macOS refuses to start any VM", path, VirtualizationEntitlement)
	}
	return nil
}
