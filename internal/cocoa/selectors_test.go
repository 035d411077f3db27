package cocoa

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The type checker cannot see a misspelt selector or class name: objc.Sel
// takes a string. Each one cocoa sends must be one darwinkit v0.5.0's
// generated AppKit or Foundation binding sends too, taken from Apple's SDK.
func TestEverySelectorAndClassIsAppKits(t *testing.T) {
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/progrium/darwinkit").Output()
	if err != nil {
		t.Fatalf("finding darwinkit's source: %v", err)
	}
	var known strings.Builder
	for _, fw := range []string{"appkit", "foundation", "uti"} {
		files, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(dir)), "macos", fw, "*.gen.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no generated sources for %s in %s: %v", fw, dir, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			known.Write(b)
		}
	}
	src, err := os.ReadFile("cocoa_darwin.go")
	if err != nil {
		t.Fatal(err)
	}
	uses := regexp.MustCompile(`objc\.(Sel|GetClass)\("[^"]+"\)`).FindAllString(string(src), -1)
	if len(uses) < 10 {
		t.Fatalf("found only %d selectors and classes in cocoa_darwin.go: %q", len(uses), uses)
	}
	for _, use := range uses {
		if !strings.Contains(known.String(), use) {
			t.Errorf("%s is not in darwinkit's AppKit, Foundation or UTI bindings: misspelt?", use)
		}
	}
}
