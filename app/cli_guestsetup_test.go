package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

// What a person sees from guest-setup, ip and ssh without a guest
// running; the real guest is in guestsetup_linux_test.go.
func TestGuestSetupCommands(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Fatal("ssh-keygen is not installed; scripts/deps.sh installs it (openssh-client)")
	}
	home := t.TempDir()
	share := t.TempDir()
	if out, err := cli(t, home, "create", "--os", "linux", "--backend", "qemu", "--disk", "0", "--share", share+":code", "web"); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	out, err := cli(t, home, "guest-setup", "--user", "ana", "--json", "web")
	if err != nil {
		t.Fatalf("guest-setup: %v\n%s", err, out)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("guest-setup --json: %v\n%s", err, out)
	}
	b := vm.Bundle{Dir: filepath.Join(home, "web.vm")}
	if fwd, _ := raw["added_forward"].(string); raw["seed"] != b.SeedPath() || !strings.HasSuffix(fwd, ":22") {
		t.Errorf("guest-setup --json = %s", out)
	}
	if _, err := os.Stat(b.SeedPath()); err != nil {
		t.Errorf("no seed for the next boot: %v", err)
	}
	if !strings.Contains(strings.Join(toStrings(raw["steps"]), "\n"), `Shared folder "code" at /mnt/code (9p)`) {
		t.Errorf("the steps do not say where the share goes: %v", raw["steps"])
	}
	show, _ := cli(t, home, "show", "web")
	if !strings.Contains(show, `forwards = ["`) {
		t.Errorf("the SSH forward is not in the config:\n%s", show)
	}

	script, err := cli(t, home, "guest-setup", "--user", "ana", "--script", "web")
	if err != nil || !strings.HasPrefix(script, "#!/bin/sh\n") || !strings.Contains(script, "/mnt/code 9p") {
		t.Errorf("guest-setup --script: %v\n%.300s", err, script)
	}

	for _, args := range [][]string{{"ip", "web"}, {"ssh", "web", "--", "true"}} {
		out, err := cli(t, home, args...)
		if !errors.Is(err, vm.ErrNotRunning) || !strings.Contains(err.Error(), "start it first") {
			t.Errorf("vivarium %s on a stopped VM: %v %s", strings.Join(args, " "), err, out)
		}
	}

	if out, err := cli(t, home, "guest-setup", "--remove", "web"); err != nil || !strings.Contains(out, "no setup seed") {
		t.Errorf("guest-setup --remove: %v %s", err, out)
	}
	if _, err := os.Stat(b.SeedPath()); !os.IsNotExist(err) {
		t.Errorf("the seed is still there after --remove")
	}
	if _, err := cli(t, home, "guest-setup", "--user", "Ana Lopez", "web"); err == nil || !strings.Contains(err.Error(), "not a Linux login name") {
		t.Errorf("a bad user name: %v", err)
	}
}

func toStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}
