package cocoa

import (
	"os/exec"
	"strings"
	"testing"
)

// The macOS build imports only the darwinkit packages Vivarium needs: not
// appkit, which pulls in Metal and other frameworks whose generated code
// some Xcode SDKs refuse (darwinkit issue #256).
func TestTheMacBuildImportsNoDarwinkitFrameworkItDoesNotNeed(t *testing.T) {
	allowed := map[string]bool{
		"objc": true, "objc/ffi": true, "dispatch": true, "kernel": true,
		"macos/foundation": true, "macos/uti": true,
		// foundation's own dependencies: C frameworks, no protocol code.
		"macos/corefoundation": true, "macos/coregraphics": true, "macos/coremedia": true, "macos/iosurface": true,
	}
	for _, arch := range []string{"arm64", "amd64"} {
		cmd := exec.Command("go", "list", "-deps", "github.com/vivarium-vm/vivarium/app")
		cmd.Env = append(cmd.Environ(), "GOOS=darwin", "GOARCH="+arch, "CGO_ENABLED=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list (darwin/%s): %v", arch, err)
		}
		var darwinkit []string
		for _, pkg := range strings.Fields(string(out)) {
			if rest, ok := strings.CutPrefix(pkg, "github.com/progrium/darwinkit/"); ok {
				darwinkit = append(darwinkit, rest)
				if !allowed[rest] {
					t.Errorf("darwin/%s: the app imports darwinkit/%s", arch, rest)
				}
			}
		}
		if len(darwinkit) == 0 {
			t.Errorf("darwin/%s: no darwinkit package in the build; go list printed:\n%s", arch, out)
		}
	}
}
