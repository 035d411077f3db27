package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

// cli runs one vivarium command in-process against the library at home.
func cli(t *testing.T, home string, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand(func(k string) string {
		if k == "VIVARIUM_HOME" {
			return home
		}
		return ""
	})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestCreateListJSONAndSmallOnDisk(t *testing.T) {
	home := t.TempDir()
	if out, err := cli(t, home, "create", "--os", "linux", "--cpus", "2", "--memory", "2GiB", "--disk", "64GiB", "demo"); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	out, err := cli(t, home, "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var infos []vm.Info
	if err := json.Unmarshal([]byte(out), &infos); err != nil {
		t.Fatalf("list --json is not JSON: %v\n%s", err, out)
	}
	if len(infos) != 1 || infos[0].Name != "demo" || infos[0].State != vm.StateStopped || infos[0].Config.Memory != 2*vm.GiB {
		t.Fatalf("list --json = %s", out)
	}
	var used int64
	filepath.Walk(filepath.Join(home, "demo.vm"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			a, _ := vm.Allocated(p)
			used += a
		}
		return nil
	})
	if used > 1<<20 {
		t.Errorf("a new VM with a 64GiB disk takes %d bytes on disk", used)
	}
}

func TestBrokenConfigShownAndOthersWork(t *testing.T) {
	home := t.TempDir()
	for _, n := range []string{"good", "bad"} {
		if out, err := cli(t, home, "create", "--disk", "1GiB", n); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	os.WriteFile(filepath.Join(home, "bad.vm", "config.toml"), []byte("version = 1\nname = \"bad\"\nmemory = \"lots\"\n"), 0o644)
	out, err := cli(t, home, "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "broken") || !strings.Contains(out, "memory") || !strings.Contains(out, "not a size") {
		t.Errorf("list does not show the broken VM's key and reason:\n%s", out)
	}
	for _, args := range [][]string{
		{"set", "good", "cpus=3"}, {"clone", "good", "good2"}, {"rename", "good2", "good3"},
		{"show", "good3"}, {"delete", "good3"},
	} {
		if out, err := cli(t, home, args...); err != nil {
			t.Errorf("%v failed next to a broken VM: %v\n%s", args, err, out)
		}
	}
	if _, err := cli(t, home, "set", "good", "memory=12MiB"); err == nil || !strings.Contains(err.Error(), "memory") {
		t.Errorf("bad set: %v", err)
	}
}

func TestCreateRefusesBadInputAndLeavesNothing(t *testing.T) {
	home := t.TempDir()
	for _, args := range [][]string{
		{"create", "--memory", "12", "x"},
		{"create", "--cpus", "0", "x"},
		{"create", "--share", "/does/not/exist", "x"},
		{"create", "--os", "macos", "--backend", "qemu", "x"},
		{"create", "a/b"},
		{"create", ".hidden"},
	} {
		if _, err := cli(t, home, args...); err == nil {
			t.Errorf("%v succeeded", args)
		}
	}
	entries, _ := os.ReadDir(home)
	if len(entries) != 0 {
		t.Errorf("refused creates left %d entries in the library", len(entries))
	}
}

func TestCreateMacOSFromNonIPSWSaysWhyAndLeavesNothing(t *testing.T) {
	home := t.TempDir()
	bogus := filepath.Join(t.TempDir(), "not-an-ipsw.zip")
	os.WriteFile(bogus, []byte("PK not really"), 0o644)
	_, err := cli(t, home, "create", "--os", "macos", "--ipsw", bogus, "x")
	if err == nil {
		t.Fatal("created a macOS VM from a file that is not a restore image")
	}
	if !strings.Contains(err.Error(), "not a macOS restore image") {
		t.Errorf("error does not say the file is not a restore image: %v", err)
	}
	if runtime.GOOS != "darwin" && !strings.Contains(err.Error(), "Apple silicon") {
		t.Errorf("error does not say macOS guests need a Mac with Apple silicon: %v", err)
	}
	entries, _ := os.ReadDir(home)
	for _, e := range entries {
		t.Errorf("left %s in the library", e.Name())
	}
}

func TestThirdMacOSGuestRefusedBeforeAnythingIsTouched(t *testing.T) {
	lib, err := vm.OpenLibrary(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range []string{"mac1", "mac2", "mac3"} {
		c := vm.NewConfig(name, vm.OSMacOS)
		c.Disks = []vm.Disk{{Size: vm.GiB}}
		c.FillDefaults()
		info, err := lib.Create(ctx, c, vm.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if name != "mac3" { // two macOS guests "run": their runners hold the locks
			lock, err := info.Bundle().TryLock()
			if err != nil {
				t.Fatal(err)
			}
			defer lock.Unlock()
		}
	}
	_, err = startRunner(ctx, lib, "mac3", nil)
	if err == nil || !strings.Contains(err.Error(), "at most two macOS") {
		t.Fatalf("third macOS guest: %v", err)
	}
	b, _ := lib.Bundle("mac3")
	if _, err := os.Stat(b.RunnerLogPath()); err == nil {
		t.Error("a refused start wrote a runner log")
	}
}

func TestCLIUsesTheLibraryChosenInPreferences(t *testing.T) {
	home, chosen := t.TempDir(), filepath.Join(t.TempDir(), "my vms")
	env := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, "cfg")}
	prefs := guiPreferencesPath(func(k string) string { return env[k] })
	os.MkdirAll(filepath.Dir(prefs), 0o755)
	os.WriteFile(prefs, []byte(`{"library.root":"`+chosen+`"}`), 0o644)
	cmd := newRootCommand(func(k string) string { return env[k] })
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"create", "--disk", "1MiB", "where"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(chosen, "where.vm", "config.toml")); err != nil {
		t.Errorf("the CLI did not use the library chosen in Preferences: %v\n%s", err, out.String())
	}
}

func TestOnlyWindowsKeepTheMainThread(t *testing.T) {
	for args, want := range map[string]bool{
		"":                   true,
		"--library /x":       true,
		"list":               false,
		"--library /x list":  false,
		"--library=/x start": false,
		"run demo":           runtime.GOOS == "darwin",
	} {
		if got := needsMainThread(strings.Fields(args)); got != want {
			t.Errorf("needsMainThread(%q) = %v, want %v", args, got, want)
		}
	}
}
