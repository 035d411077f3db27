package main

import (
	"go/ast"
	"go/build/constraint"
	"path/filepath"
	"strings"
)

// maxFreeTags bounds the tags of one build expression that requiresDarwin
// tries every combination of; real expressions name a handful.
const maxFreeTags = 12

// requiresDarwin reports whether a file can only ever be built for darwin
// (or ios, which implies the darwin tag): by its name (x_darwin.go,
// x_darwin_arm64.go) or because its build constraint is false on every other
// GOOS, whatever the other tags are. A file like "darwin || linux" or
// "!windows" is not darwin-only: it is built on Linux too, so the Linux build
// already checks it.
func requiresDarwin(filename string, f *ast.File) bool {
	if goos, ok := fileNameGOOS(filepath.Base(filename)); ok && (goos == "darwin" || goos == "ios") {
		return true
	}
	expr := buildConstraint(f)
	if expr == nil {
		return false
	}
	return !satisfiableWithoutDarwin(expr)
}

// buildConstraint returns the file's //go:build expression, or the AND of its
// legacy // +build lines when it has none, or nil when it has neither.
func buildConstraint(f *ast.File) constraint.Expr {
	var plus constraint.Expr
	for _, group := range f.Comments {
		if group.Pos() >= f.Package {
			break
		}
		for _, c := range group.List {
			switch {
			case constraint.IsGoBuild(c.Text):
				if expr, err := constraint.Parse(c.Text); err == nil {
					return expr
				}
			case constraint.IsPlusBuild(c.Text):
				expr, err := constraint.Parse(c.Text)
				if err != nil {
					continue
				}
				if plus == nil {
					plus = expr
				} else {
					plus = &constraint.AndExpr{X: plus, Y: expr}
				}
			}
		}
	}
	return plus
}

// satisfiableWithoutDarwin reports whether expr holds for some GOOS other than
// darwin and ios, for some value of the tags that are not operating systems
// (architectures, cgo, go1.N, custom tags).
func satisfiableWithoutDarwin(expr constraint.Expr) bool {
	var free []string
	seen := map[string]bool{}
	expr.Eval(func(tag string) bool {
		if !seen[tag] && !isOSTag(tag) {
			seen[tag] = true
			free = append(free, tag)
		}
		return false
	})
	if len(free) > maxFreeTags {
		// Too many to try: count the file as not darwin-only, which only
		// shrinks the reported coverage.
		return true
	}
	for _, goos := range knownOS() {
		if goos == "darwin" || goos == "ios" {
			continue
		}
		for bits := 0; bits < 1<<len(free); bits++ {
			holds := expr.Eval(func(tag string) bool {
				if isOSTag(tag) {
					return osTagHolds(tag, goos)
				}
				for i, name := range free {
					if name == tag {
						return bits&(1<<i) != 0
					}
				}
				return false
			})
			if holds {
				return true
			}
		}
	}
	return false
}

// osTagHolds reports whether the build tag, which names an operating system
// or is "unix", is set when building for goos, as go/build decides it.
func osTagHolds(tag, goos string) bool {
	switch {
	case tag == goos:
		return true
	case tag == "unix":
		return isUnixOS(goos)
	case tag == "linux":
		return goos == "android"
	case tag == "solaris":
		return goos == "illumos"
	case tag == "darwin":
		return goos == "ios"
	}
	return false
}

// fileNameGOOS returns the GOOS a file name restricts it to, following
// go/build: name_GOOS.go, name_GOOS_GOARCH.go, with an optional _test.
func fileNameGOOS(name string) (string, bool) {
	name, _, _ = strings.Cut(name, ".")
	i := strings.Index(name, "_")
	if i < 0 {
		return "", false
	}
	parts := strings.Split(name[i:], "_")
	if n := len(parts); n > 0 && parts[n-1] == "test" {
		parts = parts[:n-1]
	}
	n := len(parts)
	if n >= 2 && isKnownOS(parts[n-2]) && isKnownArch(parts[n-1]) {
		return parts[n-2], true
	}
	if n >= 1 && isKnownOS(parts[n-1]) {
		return parts[n-1], true
	}
	return "", false
}

func isOSTag(tag string) bool { return tag == "unix" || isKnownOS(tag) }

func isKnownOS(s string) bool {
	for _, goos := range knownOS() {
		if s == goos {
			return true
		}
	}
	return false
}

// knownOS lists the GOOS values go/build knows (go/build's syslist.go).
func knownOS() []string {
	return []string{
		"aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos",
		"ios", "js", "linux", "nacl", "netbsd", "openbsd", "plan9", "solaris",
		"wasip1", "windows", "zos",
	}
}

func isUnixOS(goos string) bool {
	switch goos {
	case "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos",
		"ios", "linux", "netbsd", "openbsd", "solaris":
		return true
	}
	return false
}

// isKnownArch reports whether s is a GOARCH go/build knows (syslist.go).
func isKnownArch(s string) bool {
	switch s {
	case "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be",
		"loong64", "mips", "mipsle", "mips64", "mips64le", "mips64p32",
		"mips64p32le", "ppc", "ppc64", "ppc64le", "riscv", "riscv64", "s390",
		"s390x", "sparc", "sparc64", "wasm":
		return true
	}
	return false
}
