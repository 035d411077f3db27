package bundle

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// `make build` on a Mac must leave a binary that may start VMs: built for
// the oldest macOS Info.plist claims, then signed ad hoc with the
// virtualization entitlement. Here uname says Darwin, and codesign and
// plutil are stand-ins that record how they are run; the signing itself is
// the real bundle.Sign (go run ./bundle/cmd/sign). On Linux the same
// script builds and signs nothing.
func TestMakeBuildSignsTheBinaryOnDarwin(t *testing.T) {
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	tests := []struct {
		name  string
		uname string
		want  []string // the log, with OUT for the binary's path
	}{
		{name: "darwin", uname: "Darwin", want: []string{
			"go build -o OUT ./app (CGO_ENABLED=1 MACOSX_DEPLOYMENT_TARGET=13.0)",
			"codesign --force --sign - --entitlements bundle/vivarium.entitlements OUT",
			"codesign --verify --strict --verbose=2 OUT",
		}},
		{name: "linux", uname: "Linux", want: []string{
			"go build -o OUT ./app (CGO_ENABLED= MACOSX_DEPLOYMENT_TARGET=)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tools := t.TempDir()
			log := filepath.Join(tools, "log")
			// go: a build writes a stand-in binary and is logged; anything
			// else (go run ./bundle/cmd/sign) is the real go.
			writeTestFile(t, filepath.Join(tools, "go"), `#!/bin/sh
if [ "$1" = build ]; then
	echo "go $* (CGO_ENABLED=${CGO_ENABLED:-} MACOSX_DEPLOYMENT_TARGET=${MACOSX_DEPLOYMENT_TARGET:-})" >>"`+log+`"
	printf 'binary' >"$3"
	exit 0
fi
exec "`+realGo+`" "$@"
`, 0o755)
			writeTestFile(t, filepath.Join(tools, "uname"), "#!/bin/sh\necho "+tt.uname+"\n", 0o755)
			writeTestFile(t, filepath.Join(tools, "plutil"), `#!/bin/sh
[ "$*" = "-extract LSMinimumSystemVersion raw Info.plist" ] && echo 13.0
`, 0o755)
			writeTestFile(t, filepath.Join(tools, "codesign"), `#!/bin/sh
echo "codesign $*" >>"`+log+`"
`, 0o755)
			out := filepath.Join(t.TempDir(), "vivarium")

			cmd := exec.Command("sh", "scripts/build.sh", out)
			cmd.Dir = ".."
			cmd.Env = append(os.Environ(), "PATH="+tools+string(os.PathListSeparator)+os.Getenv("PATH"), "GO="+filepath.Join(tools, "go"))
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("scripts/build.sh: %v\n%s", err, msg)
			}
			got, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(strings.Join(tt.want, "\n")+"\n", "OUT", out)
			if string(got) != want {
				t.Errorf("scripts/build.sh ran\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// The Makefile's build goes through that script, so `make build` and
// `make run` get the signature.
func TestMakeBuildRunsTheBuildScript(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not on PATH")
	}
	for _, target := range []string{"build", "run"} {
		out, err := exec.Command("make", "-C", "..", "-n", target).CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		if !strings.Contains(string(out), "sh scripts/build.sh build/vivarium") {
			t.Errorf("make -n %s does not build through scripts/build.sh:\n%s", target, out)
		}
	}
}

// `make test` on a Mac skips the Linux-only parts with a line saying why,
// and succeeds; on Linux they run (checked with make -n, which runs
// nothing).
func TestMakeSkipsLinuxOnlyPartsOnDarwin(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not on PATH")
	}
	tools := t.TempDir()
	writeTestFile(t, filepath.Join(tools, "uname"), "#!/bin/sh\necho Darwin\n", 0o755)
	for target, want := range map[string]string{
		"bench-quick": "make bench-quick: skipped on Darwin: the benchmarks measure Linux tools",
		"demo":        "make demo: skipped on Darwin: its guest is built from Debian's packages with apt-get",
	} {
		cmd := exec.Command("make", "-s", "-C", "..", target)
		cmd.Env = append(os.Environ(), "PATH="+tools+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("make %s on Darwin: %v\n%s", target, err, out)
		}
		if !strings.HasPrefix(string(out), want) {
			t.Errorf("make %s on Darwin printed %q, want a line starting %q", target, out, want)
		}
	}
	for target, want := range map[string]string{"bench-quick": "bash bench/run.sh --quick", "demo": "bash scripts/demo.sh"} {
		out, err := exec.Command("make", "-C", "..", "-n", target).CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("make -n %s on Linux does not run %q:\n%s", target, want, out)
		}
	}
}
