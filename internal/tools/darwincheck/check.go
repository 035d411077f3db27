package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"go/version"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/tools/go/packages"
)

// loadMode asks go list for names, files and the import graph only: anything
// more (compiled files, types) would make it run cgo, which needs the macOS
// SDK this machine does not have.
const loadMode = packages.NeedName | packages.NeedFiles | packages.NeedImports |
	packages.NeedDeps | packages.NeedModule

// Options says what to check.
type Options struct {
	Dir      string   // directory the patterns are relative to; "" is the current one
	Patterns []string // package patterns, as for go build; none means ./...
	Arches   []string // darwin GOARCHes to check: "arm64", "amd64"
	Tests    bool     // also check the packages' _test.go files
}

// Diagnostic is one problem found in the main module's code.
type Diagnostic struct {
	Pos token.Position // Filename is absolute; Line and Column may be 0
	Msg string
}

func (d Diagnostic) String() string {
	if d.Pos.Filename == "" {
		return d.Msg
	}
	return d.Pos.String() + ": " + d.Msg
}

// Report is what checking one architecture found.
type Report struct {
	Arch         string
	Packages     int      // main-module packages checked
	Dependencies int      // other packages type-checked (declarations only)
	DarwinFiles  []string // absolute paths of checked files that only build for darwin
	Diagnostics  []Diagnostic

	// DependencyErrors holds the first error of each dependency that did not
	// type-check cleanly. They are not failures (a C.x the checker cannot
	// know, say), but a dependency that fails badly can hide our errors.
	DependencyErrors []Diagnostic
}

// Check type-checks, as GOOS=darwin with cgo on, every package matched by
// opts.Patterns and everything they import, once per architecture, and
// reports the errors in the main module's packages. Dependencies are checked
// declarations-only, and cgo's C.x references are accepted unchecked
// (go/types' FakeImportC): the C and Objective-C side belongs to vz and
// darwinkit, not to us.
func Check(ctx context.Context, opts Options) ([]*Report, error) {
	patterns := opts.Patterns
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	if len(opts.Arches) == 0 {
		return nil, errors.New("no architecture to check; use arm64, amd64 or both")
	}
	for _, arch := range opts.Arches {
		if arch != "arm64" && arch != "amd64" { // the GOARCHes darwin has
			return nil, fmt.Errorf("darwin/%s: unknown architecture; use arm64 or amd64", arch)
		}
	}

	// go list runs once per architecture, all at once: it is mostly waiting.
	graphs := make([][]*packages.Package, len(opts.Arches))
	errs := make([]error, len(opts.Arches))
	var wg sync.WaitGroup
	for i, arch := range opts.Arches {
		wg.Go(func() {
			cfg := &packages.Config{
				Context: ctx,
				Mode:    loadMode,
				Dir:     opts.Dir,
				Tests:   opts.Tests,
				Env:     append(os.Environ(), "GOOS=darwin", "GOARCH="+arch, "CGO_ENABLED=1"),
			}
			graphs[i], errs[i] = packages.Load(cfg, patterns...)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("darwin/%s: listing packages %s: %w", arch, strings.Join(patterns, " "), errs[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	// The architectures share most files: each is parsed once.
	files := &parseCache{fset: token.NewFileSet(), files: map[string]*parsedFile{}}
	var reports []*Report
	for i, arch := range opts.Arches {
		r, err := checkArch(ctx, arch, graphs[i], files)
		if err != nil {
			return nil, err
		}
		reports = append(reports, r)
	}
	return reports, nil
}

// checkArch type-checks one architecture's import graph, whose roots are
// the packages the patterns matched.
func checkArch(ctx context.Context, arch string, roots []*packages.Package, files *parseCache) (*Report, error) {
	c := &checker{
		files:   files,
		sizes:   types.SizesFor("gc", arch),
		tctx:    types.NewContext(),
		jobs:    map[*packages.Package]*job{},
		workers: make(chan struct{}, runtime.GOMAXPROCS(0)),
		report:  &Report{Arch: arch},
		seen:    map[string]bool{},
	}
	isRoot := map[*packages.Package]bool{}
	for _, p := range roots {
		isRoot[p] = true
	}
	paths := map[string]bool{}
	packages.Visit(roots, nil, func(p *packages.Package) {
		j := &job{pkg: p, done: make(chan struct{}), main: isMain(p)}
		c.jobs[p] = j
		switch {
		case isTestMain(p):
			return // go test's generated main: not our code
		case j.main:
			paths[p.PkgPath] = true
		default:
			c.report.Dependencies++
		}
		if j.main || isRoot[p] {
			for _, e := range p.Errors {
				c.add(listErrorDiagnostic(e))
			}
		}
	})
	c.report.Packages = len(paths)

	// Every package gets its own goroutine, which parses at once and then
	// waits for the packages it imports.
	var wg sync.WaitGroup
	for _, j := range c.jobs {
		wg.Go(func() { c.run(ctx, j) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("darwin/%s: %w", arch, err)
	}

	slices.Sort(c.report.DarwinFiles)
	c.report.DarwinFiles = slices.Compact(c.report.DarwinFiles)
	slices.SortFunc(c.report.Diagnostics, compareDiagnostics)
	slices.SortFunc(c.report.DependencyErrors, compareDiagnostics)
	return c.report, nil
}

// job is the type-checking of one package.
type job struct {
	pkg   *packages.Package
	main  bool           // in the main module: full bodies, errors reported
	done  chan struct{}  // closed when types is set
	types *types.Package // nil if the package could not be checked
}

// checker type-checks one architecture.
type checker struct {
	files   *parseCache
	sizes   types.Sizes
	tctx    *types.Context
	jobs    map[*packages.Package]*job // complete before any job runs
	workers chan struct{}              // bounds the jobs parsing or checking at once

	mu     sync.Mutex
	report *Report
	seen   map[string]bool // diagnostics already reported (test variants repeat files)
}

func (c *checker) run(ctx context.Context, j *job) {
	defer close(j.done)
	if isTestMain(j.pkg) {
		return
	}
	c.workers <- struct{}{}
	files := c.parse(j)
	<-c.workers

	for _, dep := range j.pkg.Imports {
		select {
		case <-c.jobs[dep].done:
		case <-ctx.Done():
			return
		}
	}

	c.workers <- struct{}{}
	defer func() { <-c.workers }()
	depFailed := false
	conf := &types.Config{
		Context:          c.tctx,
		GoVersion:        goVersion(j.pkg),
		FakeImportC:      true,
		IgnoreFuncBodies: !j.main,
		Sizes:            c.sizes,
		Importer:         importer{c: c, pkg: j.pkg},
		Error: func(err error) {
			var terr types.Error
			if !errors.As(err, &terr) || isFollowOn(terr.Msg) {
				return
			}
			d := Diagnostic{Pos: terr.Fset.Position(terr.Pos), Msg: terr.Msg}
			switch {
			case j.main:
				c.add(d)
			case !depFailed:
				depFailed = true
				c.mu.Lock()
				c.report.DependencyErrors = append(c.report.DependencyErrors, d)
				c.mu.Unlock()
			}
		},
	}
	// Errors reach conf.Error; the package is kept even when it has some so
	// that its importers still see everything that did check.
	j.types, _ = conf.Check(j.pkg.PkgPath, c.files.fset, files, nil)
}

// parse returns the package's files (cgo files included) and, for the main
// module, reports syntax errors and notes the darwin-only files.
func (c *checker) parse(j *job) []*ast.File {
	var files []*ast.File
	for _, name := range j.pkg.GoFiles {
		pf := c.files.parse(name, j.main)
		if j.main {
			for _, d := range pf.errs {
				c.add(d)
			}
		}
		if pf.file == nil {
			continue
		}
		files = append(files, pf.file)
		if pf.darwinOnly {
			c.mu.Lock()
			c.report.DarwinFiles = append(c.report.DarwinFiles, name)
			c.mu.Unlock()
		}
	}
	return files
}

// add records a diagnostic once: a package and its test variant share files.
func (c *checker) add(d Diagnostic) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if key := d.String(); !c.seen[key] {
		c.seen[key] = true
		c.report.Diagnostics = append(c.report.Diagnostics, d)
	}
}

// parseCache parses each file once for all architectures and test variants.
// go/types only reads the syntax trees, so they can be shared.
type parseCache struct {
	fset  *token.FileSet
	mu    sync.Mutex
	files map[string]*parsedFile
}

type parsedFile struct {
	once       sync.Once
	file       *ast.File // nil if unreadable
	errs       []Diagnostic
	darwinOnly bool // only set for main-module files
}

// parse parses a file, keeping comments and every declaration of the main
// module's files (ours) and only what declares types for the others.
func (pc *parseCache) parse(name string, ours bool) *parsedFile {
	pc.mu.Lock()
	pf := pc.files[name]
	if pf == nil {
		pf = &parsedFile{}
		pc.files[name] = pf
	}
	pc.mu.Unlock()

	pf.once.Do(func() {
		mode := parser.SkipObjectResolution
		if ours {
			mode |= parser.ParseComments // to read build constraints
		}
		f, err := parser.ParseFile(pc.fset, name, nil, mode)
		var list scanner.ErrorList
		switch {
		case errors.As(err, &list):
			for _, e := range list {
				pf.errs = append(pf.errs, Diagnostic{Pos: e.Pos, Msg: e.Msg})
			}
		case err != nil:
			pf.errs = append(pf.errs, Diagnostic{Pos: token.Position{Filename: name}, Msg: err.Error()})
		}
		if f == nil {
			return
		}
		if ours {
			pf.darwinOnly = requiresDarwin(name, f)
		} else {
			trimDependency(f)
		}
		pf.file = f
	})
	return pf
}

// importer resolves a package's imports through its own import map, so that
// vendored and test-variant packages resolve to the right one.
type importer struct {
	c   *checker
	pkg *packages.Package
}

func (im importer) Import(path string) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	dep := im.pkg.Imports[path]
	if dep == nil {
		return nil, fmt.Errorf("%s is not in the import graph go list gave for %s", path, im.pkg.PkgPath)
	}
	for _, e := range dep.Errors {
		if e.Kind == packages.ListError {
			return nil, errors.New(e.Msg)
		}
	}
	j := im.c.jobs[dep]
	if j.types == nil {
		return nil, fmt.Errorf("%s was not type-checked", path)
	}
	return j.types, nil
}

// isFollowOn reports go/types errors that only repeat an earlier one, or that
// come from a C.x reference whose type FakeImportC cannot know.
func isFollowOn(msg string) bool {
	return strings.Contains(msg, "invalid type") || strings.Contains(msg, "invalid operand")
}

func isMain(p *packages.Package) bool { return p.Module != nil && p.Module.Main }

// isTestMain reports go test's generated main package ("p.test").
func isTestMain(p *packages.Package) bool { return strings.HasSuffix(p.ID, ".test") }

// goVersion is the language version the package's module declares, "" for the
// standard library and modules without a go line.
func goVersion(p *packages.Package) string {
	if p.Module == nil || p.Module.GoVersion == "" {
		return ""
	}
	if v := "go" + p.Module.GoVersion; version.IsValid(v) {
		return v
	}
	return ""
}

func compareDiagnostics(a, b Diagnostic) int {
	return cmp.Or(
		cmp.Compare(a.Pos.Filename, b.Pos.Filename),
		cmp.Compare(a.Pos.Line, b.Pos.Line),
		cmp.Compare(a.Pos.Column, b.Pos.Column),
		cmp.Compare(a.Msg, b.Msg),
	)
}

// listErrorDiagnostic turns a go list error, whose position is a
// "file:line:col" string, into a Diagnostic.
func listErrorDiagnostic(e packages.Error) Diagnostic {
	d := Diagnostic{Msg: e.Msg}
	rest := e.Pos
	var nums []int
	for range 2 {
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			break
		}
		n, err := strconv.Atoi(rest[i+1:])
		if err != nil {
			break
		}
		nums = append([]int{n}, nums...)
		rest = rest[:i]
	}
	if rest == "" || rest == "-" {
		return d
	}
	d.Pos.Filename = rest
	if len(nums) > 0 {
		d.Pos.Line = nums[0]
	}
	if len(nums) > 1 {
		d.Pos.Column = nums[1]
	}
	return d
}
