package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestA","Elapsed":0.1}`,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: QEMU is missing\n"}`,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"--- SKIP: TestB (0.00s)\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestB"}`,
		`{"Action":"output","Package":"p","Test":"TestC","Output":"    c_test.go:3: got 1, want 2\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestC","Elapsed":0.2}`,
		`{"Action":"fail","Package":"p","Elapsed":0.5}`,
		`{"Action":"pass","Package":"q","Elapsed":0.5}`,
		`# q [build failed]`,
	}, "\n")
	var out bytes.Buffer
	status := summarize(strings.NewReader(in), &out)
	got := out.String()
	for _, want := range []string{
		"--- FAIL: p TestC", "got 1, want 2", "FAIL\tp", "ok  \tq",
		"Skipped tests (1):", "p TestB: b_test.go:9: QEMU is missing",
		"# q [build failed]", "\n1 passed, 1 failed, 1 skipped\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if status != 1 {
		t.Errorf("status %d with a failure, want 1", status)
	}
	out.Reset()
	if s := summarize(strings.NewReader(`{"Action":"pass","Package":"p","Test":"T"}`), &out); s != 0 {
		t.Errorf("status %d with all passed, want 0", s)
	}
}
