// Command testsum reads `go test -json` on stdin and prints what a person
// needs from it: each package's ok/FAIL line, the whole output of every
// failed test, every skipped test with its reason, and a closing line
// "N passed, N failed, N skipped". It exits 1 when anything failed. (Real-
// guest tests fail rather than skip in CI on their own: testguest.SkipOrFail.)
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type key struct{ pkg, test string }

func main() {
	os.Exit(summarize(os.Stdin, os.Stdout))
}

func summarize(in io.Reader, out io.Writer) int {
	output := map[key][]string{}
	var passed, failed, skipped int
	var skips []string
	var failedPkgs []string
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			fmt.Fprintln(out, string(line)) // build errors and the like
			continue
		}
		k := key{ev.Package, ev.Test}
		switch ev.Action {
		case "output", "build-output":
			output[k] = append(output[k], ev.Output)
			if ev.Action == "build-output" {
				fmt.Fprint(out, ev.Output)
			}
		case "pass":
			if ev.Test == "" {
				fmt.Fprintf(out, "ok  \t%s\t%.3fs\n", ev.Package, ev.Elapsed)
			} else {
				passed++
			}
			delete(output, k)
		case "skip":
			if ev.Test == "" {
				fmt.Fprintf(out, "?   \t%s\t[no test files]\n", ev.Package)
				continue
			}
			skipped++
			skips = append(skips, fmt.Sprintf("%s %s: %s", ev.Package, ev.Test, skipReason(output[k])))
			delete(output, k)
		case "fail":
			if ev.Test == "" {
				failedPkgs = append(failedPkgs, ev.Package)
				for _, l := range output[k] {
					fmt.Fprint(out, l)
				}
				fmt.Fprintf(out, "FAIL\t%s\t%.3fs\n", ev.Package, ev.Elapsed)
				continue
			}
			failed++
			fmt.Fprintf(out, "--- FAIL: %s %s (%.2fs)\n", ev.Package, ev.Test, ev.Elapsed)
			for _, l := range output[k] {
				fmt.Fprint(out, "    "+l)
			}
			delete(output, k)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(out, "testsum:", err)
		return 1
	}
	sort.Strings(skips)
	if len(skips) > 0 {
		fmt.Fprintf(out, "\nSkipped tests (%d):\n", len(skips))
		for _, s := range skips {
			fmt.Fprintln(out, "  "+s)
		}
	}
	status := 0
	if failed > 0 || len(failedPkgs) > 0 {
		status = 1
		if len(failedPkgs) > 0 {
			fmt.Fprintf(out, "\nFailed packages: %s\n", strings.Join(failedPkgs, " "))
		}
	}
	fmt.Fprintf(out, "\n%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	return status
}

var skipLine = regexp.MustCompile(`^\s*--- SKIP`)

// skipReason is what the test said when it skipped: its output minus the
// framing lines.
func skipReason(lines []string) string {
	var said []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || skipLine.MatchString(l) {
			continue
		}
		said = append(said, t)
	}
	if len(said) == 0 {
		return "(no reason given)"
	}
	return strings.Join(said, " ")
}
