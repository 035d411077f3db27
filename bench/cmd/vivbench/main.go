//go:build linux

// Command vivbench measures Vivarium against the plain tools, in the same
// run on the same machine, and writes RESULTS.md (a table of ratios) and
// results.png (the curves) into -out. bench/run.sh builds and runs it; see
// there for the usual flags.
//
// Absolute times on a shared two-core machine are noise: every benchmark
// interleaves ours and the baseline and reports the best of several rounds
// of each, and their ratio.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// config is one run of the benchmarks.
type config struct {
	quick    bool
	out      string // where RESULTS.md and results.png go
	work     string // scratch space for libraries and disk images
	vivarium string // the vivarium binary under test
	root     string // the module root, for building the GUI baseline
	only     map[string]bool
}

func (c *config) wants(name string) bool { return len(c.only) == 0 || c.only[name] }

// benchmark is one group of measurements.
type benchmark struct {
	name string
	run  func(ctx context.Context, cfg *config, r *report) error
}

// allBenchmarks are run in this order: the cheap ones first.
func allBenchmarks() []benchmark {
	return []benchmark{
		{"list", benchList},
		{"disks", benchDisks},
		{"import", benchImport},
		{"xfs", benchXFSClone},
		{"oci", benchOCI},
		{"snapshots", benchSnapshots},
		{"start", benchStart},
		{"snapshot-live", benchLiveSnapshot},
		{"gui", benchGUI},
		{"desktop", benchDesktop},
	}
}

func main() {
	var cfg config
	var only string
	flag.BoolVar(&cfg.quick, "quick", false, "small sizes and one iteration: only check every benchmark still works")
	flag.StringVar(&cfg.out, "out", "bench", "folder for RESULTS.md and results.png")
	flag.StringVar(&cfg.work, "work", "", "scratch folder for libraries and disk images (default: a new folder in $TMPDIR)")
	flag.StringVar(&cfg.vivarium, "vivarium", "build/vivarium", "the vivarium binary to measure")
	flag.StringVar(&cfg.root, "root", ".", "the vivarium module root")
	flag.StringVar(&only, "only", "", "comma-separated benchmarks to run (list, disks, import, xfs, oci, snapshots, start, snapshot-live, gui, desktop); default all")
	flag.Parse()
	if only != "" {
		cfg.only = map[string]bool{}
		for _, name := range strings.Split(only, ",") {
			cfg.only[strings.TrimSpace(name)] = true
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, &cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "vivbench: "+err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg *config) error {
	var err error
	if cfg.vivarium, err = filepath.Abs(cfg.vivarium); err != nil {
		return err
	}
	if _, err := os.Stat(cfg.vivarium); err != nil {
		return fmt.Errorf("the vivarium binary: %w; build it first (go build -o build/vivarium ./app) or pass -vivarium", err)
	}
	if cfg.work == "" {
		if cfg.work, err = os.MkdirTemp("", "vivarium-bench-"); err != nil {
			return fmt.Errorf("scratch folder: %w", err)
		}
		defer os.RemoveAll(cfg.work)
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	r := &report{quick: cfg.quick, machine: describeMachine(cfg.work), started: time.Now()}
	failed := 0
	for _, b := range allBenchmarks() {
		if !cfg.wants(b.name) {
			continue
		}
		t0 := time.Now()
		fmt.Fprintf(os.Stderr, "== %s\n", b.name)
		if err := b.run(ctx, cfg, r); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var skip *skipError
			if asSkip(err, &skip) {
				fmt.Fprintf(os.Stderr, "   skipped: %s\n", skip.reason)
				r.skip(b.name, skip.reason)
				continue
			}
			failed++
			fmt.Fprintf(os.Stderr, "   FAILED: %v\n", err)
			r.skip(b.name, "FAILED: "+err.Error())
			continue
		}
		fmt.Fprintf(os.Stderr, "   done in %s\n", time.Since(t0).Round(100*time.Millisecond))
	}
	if err := r.write(cfg.out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s and %s\n", filepath.Join(cfg.out, resultsFile), filepath.Join(cfg.out, plotFile))
	if failed > 0 {
		return fmt.Errorf("%d benchmark(s) failed; see %s", failed, filepath.Join(cfg.out, resultsFile))
	}
	return nil
}
