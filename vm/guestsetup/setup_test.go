package guestsetup

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

func newLibrary(t *testing.T, configs ...*vm.Config) *vm.Library {
	t.Helper()
	lib, err := vm.OpenLibrary(filepath.Join(t.TempDir(), "vms"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range configs {
		if _, err := lib.Create(context.Background(), c, vm.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return lib
}

func qemuNAT(name string) *vm.Config {
	c := vm.NewConfig(name, vm.OSLinux)
	c.Backend, c.Arch = vm.BackendQEMU, vm.ArchAMD64
	return c
}

func TestRunWritesSeedRecordAndSSHForward(t *testing.T) {
	needTool(t, "ssh-keygen")
	ctx := context.Background()
	// Something on this host already listens on the first port: setup
	// must skip it, as it skips ports other VMs forward.
	busy, err := net.Listen("tcp", "127.0.0.1:2222")
	if err == nil {
		defer busy.Close()
	}
	taken := qemuNAT("taken")
	taken.Network.Forwards = []string{"2223:22"}
	lib := newLibrary(t, qemuNAT("web"), taken)
	home := t.TempDir()

	res, err := Run(ctx, lib, "web", Options{User: "ana", Home: home})
	if err != nil {
		t.Fatal(err)
	}
	if res.AddedForward != "2224:22" {
		t.Errorf("added forward %q, want 2224:22 (2222 is busy, 2223 is another VM's)", res.AddedForward)
	}
	info, err := lib.Inspect(ctx, "web")
	if err != nil || info.Err != nil {
		t.Fatal(err, info.Err)
	}
	if got := info.Config.Network.Forwards; len(got) != 1 || got[0] != "2224:22" {
		t.Errorf("the VM's forwards are %q", got)
	}
	b := info.Bundle()
	if res.Seed != b.SeedPath() {
		t.Errorf("seed at %q, want %s", res.Seed, b.SeedPath())
	}
	if _, err := os.Stat(b.SeedPath()); err != nil {
		t.Errorf("no seed for the next boot: %v", err)
	}
	rec, err := LoadRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if rec.User != "ana" || rec.Identity != filepath.Join(KeyDir(lib), "id_ed25519") || !strings.HasPrefix(rec.HostKey, "ssh-ed25519 ") || rec.Hostname != "web" || !rec.Seed {
		t.Errorf("record = %+v", rec)
	}
	if !strings.Contains(string(res.Plan.UserData()), rec.HostKey) || !strings.Contains(string(res.Plan.UserData()), res.Key.Public) {
		t.Errorf("the seed does not carry the recorded host key and the person's key")
	}

	// Again: the forward is there already, and the seed is replaced.
	again, err := Run(ctx, lib, "web", Options{User: "ana", Home: home})
	if err != nil {
		t.Fatal(err)
	}
	if again.AddedForward != "" {
		t.Errorf("a second setup added another forward %q", again.AddedForward)
	}
	if again.Key != res.Key {
		t.Errorf("a second setup used another key: %+v then %+v", res.Key, again.Key)
	}

	// The script form leaves no seed and still records, for vivarium ssh.
	if err := Remove(b); err != nil {
		t.Fatal(err)
	}
	script, err := Run(ctx, lib, "web", Options{User: "ana", Home: home, Script: true})
	if err != nil {
		t.Fatal(err)
	}
	if script.Seed != "" || !strings.HasPrefix(script.Script, "#!/bin/sh") {
		t.Errorf("script run: seed %q, script %.40q", script.Seed, script.Script)
	}
	if _, err := os.Stat(b.SeedPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the script form left a seed for the next boot: %v", err)
	}
	data, _ := os.ReadFile(b.GuestSetupPath())
	var r Record
	if err := json.Unmarshal(data, &r); err != nil || r.Seed || r.HostKey != rec.HostKey {
		t.Errorf("record after the script form = %+v (%v); want seed false and the same host key, so ssh works before and after the script runs", r, err)
	}
	if !strings.Contains(script.Script, rec.HostKey) {
		t.Errorf("the script installs another host key than the guest's")
	}
	if st, err := os.Stat(b.GuestHostKeyPath()); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the guest's private host key on the host: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
}

func TestRunRefuses(t *testing.T) {
	needTool(t, "ssh-keygen")
	mac := vm.NewConfig("mac", vm.OSMacOS)
	mac.Disks = []vm.Disk{{Size: vm.MiB}}
	lib := newLibrary(t, qemuNAT("web"), mac)
	tests := []struct {
		name, vm, user, want string
	}{
		{"no such VM", "nope", "ana", "no such VM"},
		{"macOS guest", "mac", "ana", "My Shared Files"},
		{"root", "web", "root", "ordinary user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), lib, tt.vm, Options{User: tt.user, Home: t.TempDir()})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run error = %v, want one saying %q", err, tt.want)
			}
		})
	}
	b, _ := lib.Bundle("web")
	if _, err := os.Stat(b.SeedPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused setup left a seed")
	}
	info, _ := lib.Inspect(context.Background(), "web")
	if len(info.Config.Network.Forwards) != 0 {
		t.Errorf("a refused setup added forwards %q", info.Config.Network.Forwards)
	}
	if _, err := LoadRecord(b); !errors.Is(err, ErrNotSetUp) {
		t.Errorf("LoadRecord of a VM never set up = %v, want ErrNotSetUp", err)
	}
}
