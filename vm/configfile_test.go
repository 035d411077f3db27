package vm

import (
	"path/filepath"
	"testing"
)

// A config read again from unchanged text is the same, and the caller's
// copy is its own: changing it changes neither the file nor the next read;
// a changed file is read anew.
func TestLoadConfigCopiesAreTheCallers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	c := NewConfig("a", OSLinux)
	c.Network.Forwards = []string{"2222:22"}
	c.Shares = []Share{{Path: "/srv/data", Tag: "data"}}
	c.Disks = []Disk{{File: DiskFileName(0), Size: 8 * GiB}}
	if err := SaveConfig(path, c); err != nil {
		t.Fatal(err)
	}
	first, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	first.CPUs = 7
	first.Disks[0].Size = 1
	first.Shares[0].Tag = "changed"
	first.Network.Forwards[0] = "1:1"
	second, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if second.CPUs == 7 || second.Disks[0].Size == 1 || second.Shares[0].Tag != "data" || second.Network.Forwards[0] != "2222:22" {
		t.Errorf("a change to one read shows in the next: %+v", second)
	}
	c.CPUs = 3
	if err := SaveConfig(path, c); err != nil {
		t.Fatal(err)
	}
	if third, err := LoadConfig(path); err != nil || third.CPUs != 3 {
		t.Errorf("after the file changed: %v, %v; want cpus = 3", third, err)
	}
}
