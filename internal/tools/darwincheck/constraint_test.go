package main

import (
	"go/parser"
	"go/token"
	"testing"
)

func TestRequiresDarwin(t *testing.T) {
	tests := []struct {
		name     string
		filename string
		header   string // lines before the package clause
		want     bool
	}{
		{name: "go:build darwin", filename: "vm.go", header: "//go:build darwin", want: true},
		{name: "darwin and arm64", filename: "rosetta.go", header: "//go:build darwin && arm64", want: true},
		{name: "darwin and a Go version", filename: "vm.go", header: "//go:build go1.22 && darwin", want: true},
		{name: "darwin file name", filename: "clone_darwin.go", want: true},
		{name: "darwin and arch file name", filename: "rosetta_darwin_arm64.go", want: true},
		{name: "darwin test file name", filename: "clone_darwin_test.go", want: true},
		{name: "legacy +build line", filename: "old.go", header: "// +build darwin", want: true},
		{
			name:     "every unix but darwin, spelled out",
			filename: "vm.go",
			header: "//go:build unix && !aix && !android && !dragonfly && !freebsd && !hurd && " +
				"!illumos && !linux && !netbsd && !openbsd && !solaris",
			want: true,
		},
		{name: "no constraint", filename: "vm.go", want: false},
		{name: "file named darwin.go has no suffix", filename: "darwin.go", want: false},
		{name: "darwin or linux", filename: "vm.go", header: "//go:build darwin || linux", want: false},
		{name: "not linux", filename: "stub.go", header: "//go:build !linux", want: false},
		{name: "unix", filename: "lock.go", header: "//go:build unix", want: false},
		{name: "not darwin", filename: "stub.go", header: "//go:build !darwin", want: false},
		{name: "darwin or a custom tag", filename: "vm.go", header: "//go:build darwin || fakevz", want: false},
		{name: "linux file name", filename: "clone_linux.go", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.header + "\n\npackage vm\n"
			f, err := parser.ParseFile(token.NewFileSet(), tt.filename, src, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if got := requiresDarwin("/src/vm/"+tt.filename, f); got != tt.want {
				t.Errorf("requiresDarwin(%s, %q) = %v, want %v", tt.filename, tt.header, got, tt.want)
			}
		})
	}
}
