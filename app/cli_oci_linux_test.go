package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/internal/testguest"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/importer/importertest"
	"github.com/vivarium-vm/vivarium/vm/oci/ocitest"
)

// login runs `vivarium login --password-stdin` against the registry.
func (v *guestVM) login(host, password string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, v.bin, "login", host, "--username", ocitest.User, "--password-stdin", "--insecure")
	cmd.Env = append(os.Environ(), "VIVARIUM_HOME="+v.home)
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestPushPullBootsTheTestGuest sends the test guest's VM through a real
// registry with the CLI and boots what comes back: the disk is the same
// byte for byte, and the guest reads from it what was written before the
// push.
func TestPushPullBootsTheTestGuest(t *testing.T) {
	reg := ocitest.Require(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	v := newGuestVM(t, "shared", testguest.Cmdline(nil, []string{testguest.ActionDiskRead}))

	// What disk-write would leave: the text as the disk's first line; and
	// random data further on, so the disk has several chunks of data.
	disk := v.b.DiskPath(vm.DiskFileName(0))
	f, err := os.OpenFile(disk, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	sector := make([]byte, 512)
	copy(sector, "through-the-registry\n")
	f.WriteAt(sector, 0)
	rng := rand.New(rand.NewPCG(4, 2))
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	f.WriteAt(data, 20<<20)
	f.Close()

	out, err := v.login(reg.Host, "not-the-password")
	if err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	line := strings.TrimSpace(out)
	if strings.Contains(line, "\n") || !strings.Contains(line, "refused this user name and password") || strings.Contains(line, "not-the-password") {
		t.Errorf("wrong password: want one clear sentence without the password, got %q", out)
	}
	ref := reg.Host + "/team/testguest:v1"
	if out, err := v.run("push", v.name, ref, "--insecure"); err == nil || !strings.Contains(out, "vivarium login "+reg.Host) {
		t.Errorf("push without credentials: %v %q", err, out)
	}
	if out, err := v.login(reg.Host, ocitest.Password); err != nil || strings.Contains(out, ocitest.Password) {
		t.Fatalf("login: %v %q", err, out)
	}
	config, _ := os.ReadFile(filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json"))
	if !bytes.Contains(config, []byte(reg.Host)) {
		t.Errorf("login stored nothing for %s in Docker's config: %s", reg.Host, config)
	}

	out = v.must("push", v.name, ref, "--insecure", "--chunk-size", "8MiB")
	if !strings.Contains(out, "Pushed shared to "+ref) || !strings.Contains(out, "boot.kernel") {
		t.Errorf("push said %q", out)
	}
	out = v.must("pull", ref, "back", "--insecure", "--json")
	var res struct {
		Chunks, Downloaded, Zero int
		Format                   string
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Format != "vivarium" || res.Chunks != 8 || res.Downloaded != 2 {
		t.Errorf("pull --json: %v %s", err, out)
	}
	back := &guestVM{t: t, bin: v.bin, home: v.home, name: "back", b: vm.Bundle{Dir: filepath.Join(v.home, "back"+vm.BundleExt)}}
	t.Cleanup(func() {
		if back.b.Locked() {
			back.run("stop", "--force", back.name)
		}
	})
	if importertest.FileSum(t, disk) != importertest.FileSum(t, back.b.DiskPath(vm.DiskFileName(0))) {
		t.Fatal("the pulled disk differs from the pushed one")
	}
	if out, err := v.run("pull", ref, "back", "--insecure"); err == nil || !strings.Contains(out, "already exists") {
		t.Errorf("pull into an existing name: %v %q", err, out)
	}

	back.must("start", "--headless", back.name)
	text := back.waitConsole(testguest.IdleMarker)
	back.must("stop", "--force", back.name)
	if !strings.Contains(text, testguest.ReadyMarker) {
		t.Errorf("the pulled VM did not boot to the ready marker:\n%s", text)
	}
	if r, ok := testguest.FindResult(testguest.ParseResults(text), testguest.ActionDiskRead); !ok || r.Detail != "through-the-registry" {
		t.Errorf("the pulled guest reads %+v from its disk", r)
	}

	if out := v.must("prune"); !strings.Contains(out, "Removed") {
		t.Errorf("prune said %q", out)
	}
	v.must("logout", reg.Host)
	if out, err := v.run("pull", ref, "again", "--insecure"); err == nil || !strings.Contains(out, "asks for a user name and password") {
		t.Errorf("pull after logout: %v %q", err, out)
	}
}

// slowProxy forwards TCP connections to target at about rate bytes per
// second each way, like a slow network, so a test can cut a pull half way.
func slowProxy(t *testing.T, target string, rate int) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	pipe := func(dst, src net.Conn) {
		defer dst.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
				time.Sleep(time.Duration(n) * time.Second / time.Duration(rate))
			}
			if err != nil {
				return
			}
		}
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go pipe(u, c)
			go pipe(c, u)
		}
	}()
	return l.Addr().String()
}

// TestPullKilledMidwayResumes kills `vivarium pull` (SIGKILL) half way
// through a slow download; the VM is not listed, and the next pull of the
// same image fetches only the chunks the first did not finish.
func TestPullKilledMidwayResumes(t *testing.T) {
	reg := ocitest.Require(t)
	bin := vivariumBinary(t)
	home := t.TempDir()
	slow := slowProxy(t, reg.Host, 4<<20)
	docker, err := ocitest.DockerConfig(t.TempDir(), ocitest.Password, reg.Host, slow)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", docker)
	v := &guestVM{t: t, bin: bin, home: home, name: "big"}
	v.must("create", "--os", "linux", "--disk", "24MiB", "--network", "none", "big")
	rng := rand.New(rand.NewPCG(8, 8))
	data := make([]byte, 24<<20)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	disk := filepath.Join(home, "big.vm", vm.DiskFileName(0))
	if err := os.WriteFile(disk, data, 0o644); err != nil {
		t.Fatal(err)
	}
	v.must("push", "big", reg.Host+"/team/big:v1", "--insecure", "--chunk-size", "2MiB")

	// About 6 s of download at 4 MiB/s: kill it once a few chunks are in.
	ref := slow + "/team/big:v1"
	cmd := exec.Command(bin, "pull", ref, "copy", "--insecure", "--concurrency", "2")
	cmd.Env = append(os.Environ(), "VIVARIUM_HOME="+home)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	chunks := filepath.Join(home, ".oci-store", "chunks", "sha256")
	deadline := time.Now().Add(time.Minute)
	for {
		entries, _ := os.ReadDir(chunks)
		if len(entries) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no chunk arrived in a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	kept, _ := os.ReadDir(chunks)
	if tmp, _ := os.ReadDir(filepath.Join(home, ".oci-store", "tmp")); len(tmp) == 0 {
		t.Log("the kill left no half-downloaded chunk behind (it fell between two)")
	}
	if out := v.must("list"); strings.Contains(out, "copy") {
		t.Fatalf("a half-pulled VM is listed:\n%s", out)
	}

	out := v.must("pull", ref, "copy", "--insecure", "--json")
	var res struct{ Chunks, Downloaded, Reused int }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("pull --json: %v %s", err, out)
	}
	if res.Chunks != 12 || res.Reused != len(kept) || res.Downloaded != res.Chunks-len(kept) {
		t.Errorf("after a kill with %d chunks kept: %+v", len(kept), res)
	}
	if tmp, _ := os.ReadDir(filepath.Join(home, ".oci-store", "tmp")); len(tmp) != 0 {
		t.Errorf("the killed pull's half-downloaded chunks are still in the store: %d files", len(tmp))
	}
	got, _ := os.ReadFile(filepath.Join(home, "copy.vm", vm.DiskFileName(0)))
	if !bytes.Equal(got, data) {
		t.Error("the resumed pull's disk differs from the pushed one")
	}
	t.Logf("killed with %d of %d chunks kept; the next pull fetched %d", len(kept), res.Chunks, res.Downloaded)
}
