//go:build linux

package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/bench/internal/chart"
)

func TestResultsTableAndPlot(t *testing.T) {
	for _, tt := range []struct {
		name     string
		r        *report
		want     []string
		wantPlot bool
	}{
		{
			name: "measured",
			r: &report{machine: "test machine", started: time.Now(),
				rows: []row{
					{what: "`vivarium start` → guest ready marker", ours: "2.10 s", baseline: "2.00 s (qemu by hand)", ratio: 1.05, goal: "≤ 1.05", met: "yes"},
					{what: "list growth", ours: "× 1.10"},
				},
				notes:  []string{"how start is measured"},
				panels: []chart.Panel{{Title: "p", Series: []chart.Series{{Label: "ours", Points: []chart.Point{{X: 1, Y: 1}, {X: 2, Y: 2}}}}}},
			},
			want: []string{
				"Machine: test machine",
				"| `vivarium start` → guest ready marker | 2.10 s | 2.00 s (qemu by hand) | 1.05 | ≤ 1.05 | yes |",
				"| list growth | × 1.10 | — | — | — | — |",
				"![benchmark curves](results.png)",
				"- how start is measured",
			},
			wantPlot: true,
		},
		{
			name: "quick with a skip",
			r:    &report{quick: true, machine: "m", started: time.Now(), skips: []string{"**gui**: no window"}},
			want: []string{"--quick", "## Not measured in this run", "- **gui**: no window"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := tt.r.write(dir); err != nil {
				t.Fatal(err)
			}
			md, err := os.ReadFile(filepath.Join(dir, resultsFile))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(md), w) {
					t.Errorf("%s lacks %q:\n%s", resultsFile, w, md)
				}
			}
			f, err := os.Open(filepath.Join(dir, plotFile))
			if !tt.wantPlot {
				if err == nil {
					f.Close()
					t.Errorf("%s written with nothing to plot", plotFile)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := png.Decode(f); err != nil {
				t.Errorf("%s is not a PNG: %v", plotFile, err)
			}
		})
	}
}

func TestMedianAndFormats(t *testing.T) {
	if got := median([]time.Duration{5, 1, 3}); got != 3 {
		t.Errorf("median of 5,1,3 = %d", got)
	}
	if got := median([]time.Duration{4, 1, 3, 2}); got != 2 {
		t.Errorf("median of 4,1,3,2 = %d, want 2 (mean of 2 and 3, truncated)", got)
	}
	for d, want := range map[time.Duration]string{
		1500 * time.Microsecond: "1.50 ms",
		42 * time.Millisecond:   "42.0 ms",
		250 * time.Millisecond:  "250 ms",
		3200 * time.Millisecond: "3.20 s",
		12 * time.Second:        "12.0 s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
