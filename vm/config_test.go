package vm

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func fullConfig() *Config {
	c := NewConfig("Linux desktop ü", OSLinux)
	c.Backend = BackendQEMU
	c.Arch = ArchAMD64
	c.CPUs = 4
	c.Memory = 8 * GiB
	c.Disposable = true
	c.Clipboard = true
	c.Audio = true
	c.Serial = true
	c.Boot = Boot{Mode: BootLinux, Kernel: "/boot/vmlinux", Initrd: "/boot/initrd.img", Cmdline: `console=ttyS0 quiet "x"`}
	c.Disks = []Disk{{File: "disk-0.img", Size: 64 * GiB}, {File: "data.img", Size: 512 * MiB, ReadOnly: true}}
	c.Display = Display{Width: 2560, Height: 1600, PPI: 144, AutoResize: true}
	c.Network = Network{Mode: NetNAT, MAC: "52:54:00:12:34:56"}
	c.Shares = []Share{{Path: "/home/me/src", Tag: "src"}, {Path: "/srv/data", Tag: "data", ReadOnly: true}}
	return c
}

func TestConfigRoundTrip(t *testing.T) {
	mac := NewConfig("mac", OSMacOS)
	mac.Disks = []Disk{{File: "disk-0.img", Size: 80 * GiB}}
	mac.Shares = []Share{{Path: "/Users/me", Automount: true}}
	rosetta := NewConfig("arm", OSLinux)
	rosetta.Backend, rosetta.Arch, rosetta.Rosetta = BackendVZ, ArchARM64, true
	rosetta.Network = Network{Mode: NetBridged, Interface: "en0", MAC: "02:00:00:00:00:01"}
	for name, c := range map[string]*Config{"linux full": fullConfig(), "macos": mac, "rosetta bridged": rosetta} {
		t.Run(name, func(t *testing.T) {
			if err := c.Validate(); err != nil {
				t.Fatalf("valid config refused: %v", err)
			}
			got, err := ParseConfig(c.Encode())
			if err != nil {
				t.Fatalf("re-reading our own output: %v\n%s", err, c.Encode())
			}
			if !reflect.DeepEqual(got, c) {
				t.Errorf("round trip changed the config:\n got %+v\nwant %+v", got, c)
			}
		})
	}
}

func TestEncodeIsReadable(t *testing.T) {
	text := string(fullConfig().Encode())
	for _, want := range []string{"version = 1\n", `memory = "8GiB"`, "[display]", "[[shares]]", "# Vivarium VM configuration"} {
		if !strings.Contains(text, want) {
			t.Errorf("config.toml lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "[boot]") > strings.Index(text, "[display]") {
		t.Errorf("sections out of order:\n%s", text)
	}
}

func TestParseConfigErrors(t *testing.T) {
	base := "version = 1\nname = \"x\"\n"
	tests := []struct {
		name, text, key, says string
	}{
		{"missing version", "name = \"x\"\n", "version", "missing"},
		{"newer version", "version = 2\n", "version", "update Vivarium"},
		{"unknown key", base + "cpu = 2\n", "cpu", "not a setting"},
		{"unknown nested key", base + "[display]\nwidht = 100\n", "display.widht", "not a setting"},
		{"wrong type", base + "cpus = \"four\"\n", "cpus", "line 3"},
		{"bad size", base + "memory = \"lots\"\n", "memory", "not a size"},
		{"zero cpus", base + "cpus = -1\n", "cpus", "at least 1"},
		{"tiny memory", base + "memory = \"100MiB\"\n", "memory", "at least 512MiB"},
		{"macos on qemu", base + "os = \"macos\"\nbackend = \"qemu\"\n[[disks]]\nsize=\"1GiB\"\n", "backend", "vz backend"},
		{"rosetta on windows-ish", base + "os = \"other\"\nrosetta = true\n", "rosetta", "Linux guests only"},
		{"duplicate tags", base + "[[shares]]\npath=\"/a\"\ntag=\"t\"\n[[shares]]\npath=\"/b\"\ntag=\"t\"\n", "shares[1].tag", "own tag"},
		{"relative share", base + "[[shares]]\npath=\"src\"\n", "shares[0].path", "relative"},
		{"whole disk share", base + "[[shares]]\npath=\"/\"\n", "shares[0].path", "whole host disk"},
		{"disk escapes dir", base + "[[disks]]\nfile=\"../x.img\"\nsize=\"1GiB\"\n", "disks[0].file", "inside the VM directory"},
		{"bad mac", base + "[network]\nmac=\"zz\"\n", "network.mac", "not a MAC"},
		{"bridged without interface", base + "[network]\nmode=\"bridged\"\n", "network.interface", "en0"},
		{"linux boot without kernel", base + "[boot]\nmode=\"linux\"\n", "boot.kernel", "kernel image"},
		{"bad name", "version = 1\nname = \".hidden\"\n", "name", "dot"},
		{"not toml", "version = 1\n[[[", "line 2", "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.text))
			if err == nil {
				t.Fatal("accepted")
			}
			var fes FieldErrors
			if !errors.As(err, &fes) {
				t.Fatalf("error is %T, want FieldErrors: %v", err, err)
			}
			fe := fes.For(tt.key)
			if fe == nil {
				t.Fatalf("no error for key %q in: %v", tt.key, err)
			}
			if !strings.Contains(fe.Msg, tt.says) {
				t.Errorf("%s: %q does not say %q", tt.key, fe.Msg, tt.says)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("errors.Is(err, ErrInvalidConfig) is false for %v", err)
			}
		})
	}
}

func TestDefaultsFilled(t *testing.T) {
	c, err := ParseConfig([]byte("version = 1\nname = \"d\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.CPUs != DefaultCPUs || c.Memory != DefaultMem || c.Boot.Mode != BootEFI || c.Network.Mode != NetNAT || c.Network.MAC == "" || c.Display.Width == 0 {
		t.Errorf("defaults not filled: %+v", c)
	}
}

func TestSetKey(t *testing.T) {
	c := fullConfig()
	tests := []struct {
		key, value string
		check      func(*Config) bool
		errKey     string
	}{
		{key: "memory", value: "16GiB", check: func(c *Config) bool { return c.Memory == 16*GiB }},
		{key: "cpus", value: "8", check: func(c *Config) bool { return c.CPUs == 8 }},
		{key: "display.width", value: "1280", check: func(c *Config) bool { return c.Display.Width == 1280 }},
		{key: "shares[1].read_only", value: "false", check: func(c *Config) bool { return !c.Shares[1].ReadOnly }},
		{key: "network.mode", value: "none", check: func(c *Config) bool { return c.Network.Mode == NetNone }},
		{key: "shares[2].path", value: "/tmp", check: func(c *Config) bool { return len(c.Shares) == 3 && c.Shares[2].Tag == "tmp" }},
		{key: "memory", value: "1MiB", errKey: "memory"},
		{key: "cpus", value: "many", errKey: "cpus"},
		{key: "colour", value: "red", errKey: "colour"},
		{key: "shares[9].path", value: "/x", errKey: "shares[9]"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			got, err := SetKey(c, tt.key, tt.value)
			if tt.errKey != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errKey) {
					t.Fatalf("want an error naming %q, got %v", tt.errKey, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(got) {
				t.Errorf("not applied: %+v", got)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		says string // part of the refusal, when refused
	}{
		{in: "64GiB", want: 64 * GiB}, {in: "8G", want: 8 * GiB}, {in: "512 MiB", want: 512 * MiB},
		{in: "1.5GiB", want: 1536 * MiB}, {in: "2tib", want: 2 * TiB}, {in: "4097B", want: 4097},
		{in: "0", want: 0}, {in: "0GiB", want: 0}, {in: "0.5KiB", want: 512},
		{in: "8GB", says: "did you mean 8GiB?"},
		{in: "512 mb", says: "did you mean 512MiB?"},
		{in: "1073741824", says: "has no unit"},
		{in: "0.5", says: "has no unit"},
		{in: "0.0000001KiB", says: "less than one byte"},
		{in: "", says: "not a size"}, {in: "GiB", says: "not a size"}, {in: "5 parsecs", says: "not a size"},
		{in: "-1G", says: "not a size"}, {in: "1e400G", says: "not a size"}, {in: "1..5G", says: "not a size"},
		{in: "99999999TiB", says: "too large"},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if tt.says != "" {
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("ParseSize(%q) = %v, %v; want a refusal saying %q", tt.in, got, err, tt.says)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			continue
		}
		if back, err := ParseSize(got.String()); err != nil || back != got {
			t.Errorf("%q: String %q reads back as %v, %v", tt.in, got.String(), back, err)
		}
	}
}

// TestOldConfigsStillLoad: files written before sizes needed units keep
// loading, meaning what they meant then.
func TestOldConfigsStillLoad(t *testing.T) {
	tests := []struct {
		name, memory, disk string
		wantMem, wantDisk  Size
	}{
		{"integer bytes", "4294967296", "68719476736", 4 * GiB, 64 * GiB},
		{"a string of digits is bytes", `"2147483648"`, `"1000000000"`, 2 * GiB, 1e9},
		{"8GB stored by an older Vivarium reads as the MiB QEMU used", `"7812500KiB"`, `"64GiB"`, 7629 * MiB, 64 * GiB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte("version = 1\nname = \"old\"\nmemory = " + tt.memory + "\n[[disks]]\nfile = \"disk-0.img\"\nsize = " + tt.disk + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			if c.Memory != tt.wantMem || c.Disks[0].Size != tt.wantDisk {
				t.Errorf("memory, disk = %v, %v; want %v, %v", c.Memory, c.Disks[0].Size, tt.wantMem, tt.wantDisk)
			}
			again, err := ParseConfig(c.Encode())
			if err != nil || again.Memory != c.Memory || again.Disks[0].Size != c.Disks[0].Size {
				t.Errorf("re-encoded as %s: %v", c.Encode(), err)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	good := []string{"demo", "Ubuntu 24.04", "macOS Sequoia β", "日本語のVM", "a:b", strings.Repeat("x", 100)}
	bad := []string{"", ".hidden", "..", "a/b", "a\x00b", " lead", "trail ", "rtl\u200fmark", "tab\tname", strings.Repeat("x", 101), "back\\slash", "\xff\xfe"}
	for _, n := range good {
		if err := ValidateName(n); err != nil {
			t.Errorf("%q refused: %v", n, err)
		}
	}
	for _, n := range bad {
		err := ValidateName(n)
		if err == nil {
			t.Errorf("%q accepted", n)
		} else if !errors.Is(err, ErrInvalidName) {
			t.Errorf("%q: %v is not ErrInvalidName", n, err)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add(fullConfig().Encode())
	f.Add([]byte("version = 1\nname = \"x\"\n"))
	f.Add([]byte("version = 1\n[display]\nwidth = 99999999999999999999\n"))
	f.Add([]byte("version = 1\na.b.c.d.e.f = [[[[1]]]]\n"))
	f.Add([]byte("version = 1\nname = \"\xff\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("rejection is not a config error: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted a config that does not validate: %v", err)
		}
		if _, err := ParseConfig(c.Encode()); err != nil {
			t.Fatalf("our encoding of an accepted config is refused: %v", err)
		}
	})
}

// A share added without a tag gets one every guest can mount by, whatever
// the folder is called, and never one that another share already has.
func TestShareTagFromFolderName(t *testing.T) {
	long := "/home/me/" + strings.Repeat("ünïcødé ", 10)
	c := NewConfig("t", OSLinux)
	c.Shares = []Share{
		{Path: "/Users/me/My Projects"}, {Path: "/srv/data"}, {Path: "/mnt/b/data"},
		{Path: "/home/me/日本語"}, {Path: long}, {Path: long}, {Path: "/x/.hidden dir!"},
	}
	c.FillDefaults()
	want := []string{"My-Projects", "data", "data-2", "share", "", "", "hidden-dir"}
	for i, s := range c.Shares {
		if want[i] != "" && s.Tag != want[i] {
			t.Errorf("share %d (%s): tag %q, want %q", i, s.Path, s.Tag, want[i])
		}
	}
	if a, b := c.Shares[4].Tag, c.Shares[5].Tag; len(a) > MaxShareTag || len(b) > MaxShareTag || a == b ||
		!strings.HasPrefix(a, "n-c-d-n-c-d") || !strings.HasSuffix(b, "-2") {
		t.Errorf("two shares of one long folder name: tags %q and %q", a, b)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("the tags it made are refused: %v", err)
	}
}
