package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

// cliEnv is cli with more environment than VIVARIUM_HOME.
func cliEnv(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand(func(k string) string { return env[k] })
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestSetOnABrokenConfigRefusesAndChangesNothing(t *testing.T) {
	home := t.TempDir()
	if out, err := cli(t, home, "create", "--disk", "1GiB", "demo"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	path := filepath.Join(home, "demo.vm", vm.ConfigFile)
	orig, _ := os.ReadFile(path)
	broken := bytes.Replace(orig, []byte(`memory = "4GiB"`), []byte(`memory = "4 gigs"`), 1)
	if bytes.Equal(broken, orig) {
		t.Fatalf("test setup: no memory line in\n%s", orig)
	}
	os.WriteFile(path, broken, 0o644)
	out, err := cli(t, home, "set", "demo", "cpus=4")
	if err == nil {
		t.Fatalf("set on a broken config succeeded: %s", out)
	}
	for _, want := range []string{"memory", `"4 gigs" is not a size`, "vivarium edit"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(out, "Saved") {
		t.Errorf("set printed %q", out)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, broken) {
		t.Errorf("config.toml is not byte-identical after a refused set:\n%s", after)
	}
}

func TestSetRefusesWhatItCannotHonour(t *testing.T) {
	home := t.TempDir()
	if out, err := cli(t, home, "create", "--disk", "1GiB", "demo"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	path := filepath.Join(home, "demo.vm", vm.ConfigFile)
	orig, _ := os.ReadFile(path)
	tests := []struct{ assign, says string }{
		{"name=other", "name: is the VM's name; change it with 'vivarium rename'"},
		{"disks=[]", "disks: is a list"},
		{"display=1", "display: is a table; set one of its keys, like display.width"},
		{"disks[1].read_only=true", "disks[1]: does not exist"},
		{"disks[0].file=nothere.img", "disks[0].file:"},
		{"cpus=four", `cpus: expects a whole number, like cpus=4; "four" is not one`},
		{"audio=yes", "audio: expects true or false"},
		{"memory=8GB", "did you mean 8GiB?"},
		{"memory=8192", `memory: "8192" has no unit`},
	}
	for _, tt := range tests {
		out, err := cli(t, home, "set", "demo", tt.assign)
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("set %s: %v; want an error saying %q", tt.assign, err, tt.says)
		}
		if err != nil && strings.Contains(err.Error(), "line ") {
			t.Errorf("set %s: the error points at a line of a file: %v", tt.assign, err)
		}
		if strings.Contains(out, "Saved") {
			t.Errorf("set %s printed %q", tt.assign, out)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, orig) {
		t.Errorf("refused sets changed config.toml:\n%s", after)
	}
	out, err := cli(t, home, "set", "demo", "memory=8GiB", "cpus=3")
	if err != nil || !strings.Contains(out, "Saved demo.") {
		t.Fatalf("a good set: %v\n%s", err, out)
	}
}

func TestSizesPeopleTypeMeanWhatTheyMean(t *testing.T) {
	home := t.TempDir()
	for _, tt := range []struct {
		args []string
		says string
	}{
		{[]string{"--memory", "8GB"}, "--memory: \"8GB\" is a decimal size; did you mean 8GiB?"},
		{[]string{"--memory", "4096"}, "--memory: \"4096\" has no unit"},
		{[]string{"--memory", "7812500KiB"}, "memory: is 7812500KiB, not a whole number of MiB"},
		{[]string{"--disk", "0.5"}, "--disk: \"0.5\" has no unit"},
		{[]string{"--disk", "0.0000001KiB"}, "less than one byte"},
		{[]string{"--disk", "64GB"}, "did you mean 64GiB?"},
	} {
		_, err := cli(t, home, append(append([]string{"create"}, tt.args...), "x")...)
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("create %v: %v; want an error saying %q", tt.args, err, tt.says)
		}
	}
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Errorf("refused creates left %d entries in the library", len(entries))
	}
	if out, err := cli(t, home, "create", "--memory", "1.5GiB", "--disk", "0", "x"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	c, err := vm.LoadConfig(filepath.Join(home, "x.vm", vm.ConfigFile))
	if err != nil || c.Memory != 1536*vm.MiB || len(c.Disks) != 0 {
		t.Errorf("--memory 1.5GiB --disk 0 made %+v, %v", c, err)
	}
}

// TestEditKeepsAChangeMadeWhileEditing: while the editor is open, another
// writer changes config.toml; saving the edit is refused, the other change
// stays, and the person's edit is kept in a file they are told about.
func TestEditKeepsAChangeMadeWhileEditing(t *testing.T) {
	home := t.TempDir()
	if out, err := cli(t, home, "create", "--disk", "1GiB", "demo"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	path := filepath.Join(home, "demo.vm", vm.ConfigFile)
	// The "editor" edits its file and, meanwhile, someone else edits config.toml.
	editor := `f() { sed -i 's/^cpus = 2/cpus = 4/' "$1"; sed -i 's/^audio = false/audio = true/' '` + path + `'; }; f`
	_, err := cliEnv(t, map[string]string{"VIVARIUM_HOME": home, "EDITOR": editor}, "edit", "demo")
	if !errors.Is(err, vm.ErrConfigChanged) {
		t.Fatalf("edit over a change: %v, want ErrConfigChanged", err)
	}
	c, _ := vm.LoadConfig(path)
	if !c.Audio || c.CPUs != 2 {
		t.Errorf("after the refused edit: audio %v, cpus %d; want the other change (audio on) and cpus untouched", c.Audio, c.CPUs)
	}
	_, kept, ok := strings.Cut(err.Error(), "Your edit is in ")
	kept, _, _ = strings.Cut(kept, ";")
	yours, rerr := os.ReadFile(kept)
	if !ok || rerr != nil || !bytes.Contains(yours, []byte("cpus = 4")) {
		t.Errorf("the person's edit is not kept where the error says (%q): %v", kept, rerr)
	}
	os.Remove(kept)
	// Without a concurrent change, the edit saves.
	editor = `sed -i 's/^cpus = 2/cpus = 4/'`
	if out, err := cliEnv(t, map[string]string{"VIVARIUM_HOME": home, "EDITOR": editor}, "edit", "demo"); err != nil || !strings.Contains(out, "Saved demo.") {
		t.Fatalf("edit: %v\n%s", err, out)
	}
	if c, _ := vm.LoadConfig(path); c.CPUs != 4 || !c.Audio {
		t.Errorf("after edit: cpus %d, audio %v; want 4 and both changes", c.CPUs, c.Audio)
	}
}
