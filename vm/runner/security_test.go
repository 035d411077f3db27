package runner

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/control"
	"github.com/vivarium-vm/vivarium/vm/vmtest"
)

// nobody is the user the probe runs as.
const nobody = "65534"

// TestControlSocketClosedToOtherUsers runs a VM whose folder a person
// opened up to everyone (0755) and checks that another user still can
// neither connect to its control socket nor look into run/, for a short
// library path and for one long enough to move the socket to /tmp.
func TestControlSocketClosedToOtherUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("trying the socket as another user needs root (to run the probe as nobody with setpriv); run the tests as root to check it")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skipf("setpriv (util-linux) not found (%v): cannot run the probe as another user", err)
	}
	for _, tt := range []struct{ name, sub string }{
		{"short path", "lib"},
		{"long path, socket in /tmp", strings.Repeat("a-long-folder-name/", 6)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			open := t.TempDir()
			// t.TempDir's parent is private; open the whole path up so
			// only Vivarium's own modes stand between nobody and the VM.
			for d := open; strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
				os.Chmod(d, 0o755)
			}
			lib, err := vm.OpenLibrary(filepath.Join(open, tt.sub))
			if err != nil {
				t.Fatal(err)
			}
			for d := lib.Root; d != open; d = filepath.Dir(d) {
				os.Chmod(d, 0o755)
			}
			c := vm.NewConfig("fake", vm.OSLinux)
			c.Disks = []vm.Disk{{Size: 4 * vm.MiB}}
			info, err := lib.Create(context.Background(), c, vm.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b := info.Bundle()
			if err := os.Chmod(b.Dir, 0o755); err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join(open, "probe.test")
			copyExecutable(t, os.Args[0], bin)

			done, client := start(t, lib, &vmtest.Backend{}, Options{})
			defer func() {
				client.Do(context.Background(), control.Request{Op: control.OpStop, Force: true})
				<-done
			}()
			if tt.sub != "lib" && filepath.Dir(b.ControlSocketPath()) == b.RunDir() {
				t.Fatalf("a %d-byte socket path was not moved to the short runtime dir", len(b.RunDir())+13)
			}
			checkPrivate(t, b.RunDir(), nil)
			// The short runtime dir in /tmp is shared by every VM of this
			// user (and may hold what other runs left): check it and this
			// VM's own sockets in it.
			checkPrivate(t, filepath.Dir(b.ControlSocketPath()), []string{b.ControlSocketPath(), b.QMPSocketPath()})

			req, _ := json.Marshal(probeRequest{Socket: b.ControlSocketPath(), RunDir: b.RunDir()})
			asRoot := runProbe(t, open, string(req), bin)
			if asRoot.Dial != "" || asRoot.ReadDir != "" {
				t.Fatalf("the probe fails even as the VM's owner, so it proves nothing: %+v", asRoot)
			}
			asNobody := runProbe(t, open, string(req), setpriv, "--reuid="+nobody, "--regid="+nobody, "--clear-groups", "--inh-caps=-all", bin)
			if !strings.Contains(asNobody.Dial, "permission denied") {
				t.Errorf("another user connecting to the control socket: %q, want permission denied", asNobody.Dial)
			}
			if !strings.Contains(asNobody.ReadDir, "permission denied") {
				t.Errorf("another user listing run/: %q, want permission denied", asNobody.ReadDir)
			}
		})
	}
}

// checkPrivate fails if dir or anything in it can be read or entered by
// other users.
// checkPrivate checks dir and, when only is nil, everything in it (else
// the paths in only) are closed to other users.
func checkPrivate(t *testing.T, dir string, only []string) {
	t.Helper()
	paths := append([]string{dir}, only...)
	if only == nil {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	for _, p := range paths {
		st, err := os.Lstat(p)
		if err != nil {
			continue // gone meanwhile: another test's socket in /tmp
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: other users can read it", p, st.Mode().Perm())
		}
	}
}

func copyExecutable(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

func runProbe(t *testing.T, dir, req string, argv ...string) probeResult {
	t.Helper()
	cmd := exec.Command(argv[0], append(argv[1:], "-test.run=^$")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), probeEnv+"="+req)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("probe %v: %v (%s)", argv, err, out)
	}
	var res probeResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("probe printed %q: %v", out, err)
	}
	return res
}
