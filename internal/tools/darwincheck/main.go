// Command darwincheck type-checks this module's //go:build darwin code on
// machines without a macOS SDK, where `GOOS=darwin go build` cannot run cgo.
//
//	go run ./internal/tools/darwincheck [-arch arm64,amd64] [-test=false] [-v] [packages]
//
// It loads the import graph as GOOS=darwin with cgo on, type-checks it with
// go/types (C.x references accepted unchecked), and prints the errors in the
// main module as file:line:col: message, then one summary line per
// architecture and the darwin-only files it covered. It exits 1 when it found
// errors and 2 when it could not check.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("darwincheck", flag.ContinueOnError)
	flags.SetOutput(stderr)
	archList := flags.String("arch", "arm64,amd64", "comma-separated darwin `GOARCH`es to check")
	tests := flags.Bool("test", true, "also check _test.go files")
	verbose := flags.Bool("v", false, "also print the first error of each dependency that did not check cleanly")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: darwincheck [-arch arm64,amd64] [-test=false] [-v] [packages (default ./...)]")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "darwincheck: finding the current directory: %v\n", err)
		return 2
	}

	var arches []string
	for arch := range strings.SplitSeq(*archList, ",") {
		if arch = strings.TrimSpace(arch); arch != "" {
			arches = append(arches, arch)
		}
	}
	reports, err := Check(ctx, Options{Patterns: flags.Args(), Arches: arches, Tests: *tests})
	if err != nil {
		fmt.Fprintf(stderr, "darwincheck: %v\n", err)
		return 2
	}
	failed := false
	for _, r := range reports {
		if *verbose {
			for _, d := range r.DependencyErrors {
				fmt.Fprintf(stderr, "darwin/%s: dependency: %s\n", r.Arch, d)
			}
			fmt.Fprintf(stderr, "darwin/%s: %d dependencies type-checked, %d with errors\n",
				r.Arch, r.Dependencies, len(r.DependencyErrors))
		}
		for _, d := range r.Diagnostics {
			d.Pos.Filename = relative(cwd, d.Pos.Filename)
			fmt.Fprintln(stdout, d)
		}
		fmt.Fprintf(stdout, "darwin/%s: checked %s (%s with //go:build darwin), %s\n", r.Arch,
			plural(r.Packages, "package"), plural(len(r.DarwinFiles), "file"), plural(len(r.Diagnostics), "error"))
		failed = failed || len(r.Diagnostics) > 0
	}
	printCoverage(stdout, cwd, reports)
	if failed {
		return 1
	}
	return 0
}

// printCoverage lists the darwin-only files checked, noting those that only
// some of the architectures include (x_arm64.go, //go:build darwin && arm64).
func printCoverage(w io.Writer, cwd string, reports []*Report) {
	var files []string
	arches := map[string][]string{}
	for _, r := range reports {
		for _, f := range r.DarwinFiles {
			if arches[f] == nil {
				files = append(files, f)
			}
			arches[f] = append(arches[f], "darwin/"+r.Arch)
		}
	}
	if len(files) == 0 {
		return
	}
	slices.Sort(files)
	fmt.Fprintln(w, "darwin-only files checked:")
	for _, f := range files {
		note := ""
		if len(arches[f]) < len(reports) {
			note = " (" + strings.Join(arches[f], ", ") + " only)"
		}
		fmt.Fprintf(w, "  %s%s\n", relative(cwd, f), note)
	}
}

// relative shortens an absolute path for printing; it keeps it whole when it
// cannot be made relative.
func relative(dir, path string) string {
	if path == "" {
		return path
	}
	if rel, err := filepath.Rel(dir, path); err == nil {
		return rel
	}
	return path
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
