package vm

import (
	"errors"
	"strings"
	"testing"
)

// TestSetKeysRefusesWhatItCannotHonour: every key 'set' cannot honour is an
// error naming the key and what to do, never a silent "Saved".
func TestSetKeysRefusesWhatItCannotHonour(t *testing.T) {
	tests := []struct {
		assign, key, says string
	}{
		{"name=other", "name", "vivarium rename"},
		{"version=2", "version", "Vivarium writes itself"},
		{"disks=[]", "disks", "is a list; set one key of one entry, like disks[0].read_only"},
		{"shares=[]", "shares", "is a list"},
		{"display=1", "display", "is a table; set one of its keys, like display.width"},
		{"boot=efi", "boot", "is a table"},
		{"disks[2].read_only=true", "disks[2]", "this VM has 2 disks; 'set' cannot add a disk"},
		{"disks[0].file=other.img", "disks[0].file", "cannot swap disks"},
		{"disks[0].size=1TiB", "disks[0].size", "cannot resize"},
		{"cpus=many", "cpus", `expects a whole number, like cpus=4; "many" is not one`},
		{"cpus=1.5", "cpus", "expects a whole number"},
		{"clipboard=maybe", "clipboard", "expects true or false"},
		{"display.width=wide", "display.width", "expects a whole number"},
		{"memory=8GB", "memory", "did you mean 8GiB?"},
		{"memory=8", "memory", "has no unit"},
		{"memory=7812500KiB", "memory", "not a whole number of MiB"},
		{"memory.size=1", "memory.size", "memory has no keys inside it"},
		{"colour=red", "colour", "is not a setting; the settings are os, backend"},
		{"display.colour=red", "display.colour", "the settings are display.width, display.height, display.ppi, display.auto_resize"},
		{"cpus", "cpus", "write KEY=VALUE"},
		{"shares[x].path=/a", "shares[x].path", "bad index"},
	}
	for _, tt := range tests {
		t.Run(tt.assign, func(t *testing.T) {
			c := fullConfig()
			before := string(c.Encode())
			got, err := SetKeys(c, tt.assign)
			if err == nil {
				t.Fatalf("accepted; the config became:\n%s", got.Encode())
			}
			var fes FieldErrors
			var fe *FieldError
			switch {
			case errors.As(err, &fes) && fes.For(tt.key) != nil:
			case errors.As(err, &fe) && fe.Key == tt.key:
			default:
				t.Errorf("the error does not name the key %q: %v", tt.key, err)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("%v is not an ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
			if strings.Contains(err.Error(), "line ") {
				t.Errorf("error %q points at a line of a file the person never saw", err)
			}
			if string(c.Encode()) != before {
				t.Error("a refused set changed the config it was given")
			}
		})
	}
}

func TestSetKeysAppliesTogether(t *testing.T) {
	c := NewConfig("vm", OSLinux)
	// Each alone is invalid (mode linux needs a kernel); together they are not.
	_, err := SetKeys(c, "boot.mode=linux", "boot.kernel=/boot/vmlinuz", `boot.cmdline="console=ttyS0 quiet"`,
		"memory=2GiB", "accel=tcg", "disks[0].read_only=true", "shares[0].path=/srv/data", "shares[0].read_only=true")
	if err == nil {
		t.Fatal("disks[0] does not exist in a VM without disks, yet it was set")
	}
	c.Disks = []Disk{{File: "disk-0.img", Size: GiB}}
	got, err := SetKeys(c, "boot.mode=linux", "boot.kernel=/boot/vmlinuz", `boot.cmdline="console=ttyS0 quiet"`,
		"memory=2GiB", "accel=tcg", "disks[0].read_only=true", "shares[0].path=/srv/data", "shares[0].read_only=true")
	if err != nil {
		t.Fatal(err)
	}
	want := Boot{Mode: BootLinux, Kernel: "/boot/vmlinuz", Cmdline: "console=ttyS0 quiet"}
	if got.Boot != want || got.Memory != 2*GiB || got.Accel != AccelTCG || !got.Disks[0].ReadOnly ||
		len(got.Shares) != 1 || !got.Shares[0].ReadOnly || got.Shares[0].Tag != "data" {
		t.Errorf("not applied: %+v", got)
	}
	if c.Boot.Mode == BootLinux || c.Disks[0].ReadOnly {
		t.Error("SetKeys changed the config it was given")
	}
}

// FuzzSetKey: whatever a person types after 'vivarium set', the result is
// a refusal that is a config error, or a config that validates and reads
// back the same from its file.
func FuzzSetKey(f *testing.F) {
	for _, kv := range [][2]string{{"memory", "8GiB"}, {"shares[2].path", "/tmp"}, {"disks[0]", "1"}, {"display.width.x", "1"},
		{"boot.mode[0]", "x"}, {"name", `"a"`}, {"network.mac", `'52:54:00:00:00:01'`}, {"cpus", "99999999999999999999"}} {
		f.Add(kv[0], kv[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		c, err := SetKey(fullConfig(), key, value)
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("set %q=%q: the refusal is not a config error: %v", key, value, err)
			}
			return
		}
		back, err := ParseConfig(c.Encode())
		if err != nil {
			t.Fatalf("set %q=%q gave a config whose file is refused: %v", key, value, err)
		}
		if string(back.Encode()) != string(c.Encode()) {
			t.Fatalf("set %q=%q does not read back the same", key, value)
		}
	})
}
