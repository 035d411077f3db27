package hostcap

import (
	"errors"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

func mac(arch, version string) Host {
	v, err := ParseVersion(version)
	if err != nil {
		panic(err)
	}
	return Host{OS: "darwin", Arch: arch, Version: v}
}

func linuxDesktop() *vm.Config {
	c := vm.NewConfig("desk", vm.OSLinux)
	c.Backend, c.Arch = vm.BackendVZ, vm.ArchARM64
	c.Clipboard, c.Rosetta = true, true
	c.Boot.ISO = "/isos/debian.iso"
	return c
}

func macGuest() *vm.Config {
	c := vm.NewConfig("mac", vm.OSMacOS)
	c.Shares = []vm.Share{{Path: "/Users/me/src", Automount: true}}
	return c
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		name, in string
		want     Version
		wantErr  bool
	}{
		{name: "major only", in: "15", want: Version{15, 0, 0}},
		{name: "major minor", in: "14.6", want: Version{14, 6, 0}},
		{name: "full", in: "13.6.7\n", want: Version{13, 6, 7}},
		{name: "empty", in: "", wantErr: true},
		{name: "words", in: "Sonoma", wantErr: true},
		{name: "too long", in: "1.2.3.4", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVersion(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseVersion(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseVersion(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// The sentences the settings UI shows beside a greyed-out setting.
func TestUnavailable(t *testing.T) {
	tests := []struct {
		name    string
		host    Host
		feature Feature
		want    string // "" when available
	}{
		{name: "auto-resize on 13", host: mac("arm64", "13.6"), feature: AutoResize,
			want: "Display auto-resize needs macOS 14 or later on this Mac (it has macOS 13.6)"},
		{name: "auto-resize on 14", host: mac("arm64", "14.0"), feature: AutoResize},
		{name: "fixed display size on 13", host: mac("arm64", "13.6"), feature: FixedDisplaySize},
		{name: "fixed display size on 14", host: mac("arm64", "14.0"), feature: FixedDisplaySize,
			want: "A display that keeps its size (auto_resize = false) needs macOS 13 or earlier on this Mac (it has macOS 14.0): from macOS 14 on, the VM's window always resizes the guest's display with itself"},
		{name: "rosetta on intel", host: mac("amd64", "14.5"), feature: Rosetta,
			want: "Rosetta for Linux needs a Mac with Apple silicon"},
		{name: "rosetta under rosetta", host: Host{OS: "darwin", Arch: "amd64", Version: Version{14, 5, 0}, Translated: true}, feature: Rosetta,
			want: "Rosetta for Linux needs Vivarium's Apple silicon build (this copy is the Intel build, running under Rosetta)"},
		{name: "rosetta on 12", host: mac("arm64", "12.7.1"), feature: Rosetta,
			want: "Rosetta for Linux needs macOS 13 or later on this Mac (it has macOS 12.7.1)"},
		{name: "clipboard on 12", host: mac("arm64", "12.6"), feature: Clipboard,
			want: "Clipboard sharing (SPICE agent) needs macOS 13 or later on this Mac (it has macOS 12.6)"},
		{name: "clipboard on intel 13", host: mac("amd64", "13.0"), feature: Clipboard},
		{name: "save on 13", host: mac("arm64", "13.5"), feature: SaveRestore,
			want: "Suspending and resuming a VM needs macOS 14 or later on this Mac (it has macOS 13.5)"},
		{name: "save on intel 14", host: mac("amd64", "14.0"), feature: SaveRestore,
			want: "Suspending and resuming a VM needs a Mac with Apple silicon"},
		{name: "nested on 14", host: mac("arm64", "14.4"), feature: NestedVirtualization,
			want: "Nested virtualization needs macOS 15 or later on this Mac (it has macOS 14.4)"},
		{name: "nbd on 14", host: mac("arm64", "14.0"), feature: NBD},
		{name: "automount on 12", host: mac("arm64", "12.0"), feature: MacOSAutomount,
			want: "Automounted shared folders in macOS guests need macOS 13 or later on this Mac (it has macOS 12.0)"},
		{name: "usb iso on 12", host: mac("arm64", "12.0"), feature: USBInstallISO,
			want: "An install ISO attached as a USB drive needs macOS 13 or later on this Mac (it has macOS 12.0)"},
		{name: "macos guest on linux", host: Host{OS: "linux", Arch: "amd64"}, feature: MacOSGuest,
			want: "macOS guests need macOS on a Mac with Apple silicon (this is linux/amd64)"},
		{name: "vz on linux", host: Host{OS: "linux", Arch: "arm64"}, feature: AppleVirtualization,
			want: "Apple Virtualization (backend \"vz\") needs macOS on a Mac (this is linux/arm64)"},
		{name: "unknown version", host: Host{OS: "darwin", Arch: "arm64"}, feature: Clipboard,
			want: "Clipboard sharing (SPICE agent) needs macOS 13 or later on this Mac (its version could not be read)"},
		{name: "unknown feature", host: mac("arm64", "15.0"), feature: "teleport",
			want: "Vivarium does not know the feature \"teleport\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, ok := Unavailable(tt.host, tt.feature)
			if ok != (tt.want == "") || reason != tt.want {
				t.Errorf("Unavailable(%+v, %s) = %q, %v; want %q", tt.host, tt.feature, reason, ok, tt.want)
			}
		})
	}
}

func TestNeeds(t *testing.T) {
	plain := vm.NewConfig("plain", vm.OSLinux)
	plain.Display.AutoResize = false
	tests := []struct {
		name string
		c    *vm.Config
		want []Feature
	}{
		{name: "plain linux", c: plain, want: []Feature{AppleVirtualization, LinuxGuest}},
		{name: "linux desktop", c: linuxDesktop(),
			want: []Feature{AppleVirtualization, LinuxGuest, USBInstallISO, Clipboard, Rosetta, AutoResize}},
		{name: "macos with automount", c: macGuest(),
			want: []Feature{MacOSGuest, AppleVirtualization, MacOSAutomount, AutoResize}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Needs(tt.c)
			if strings.Join(featureNames(got), ",") != strings.Join(featureNames(tt.want), ",") {
				t.Errorf("Needs = %v, want %v", got, tt.want)
			}
		})
	}
}

func featureNames(fs []Feature) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
	}
	return out
}

// A start is refused with a sentence naming each feature, what it needs and
// how to run the VM anyway.
func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		host Host
		c    *vm.Config
		want string // "" when the host can run c
	}{
		{name: "desktop on sonoma", host: mac("arm64", "14.5"), c: linuxDesktop()},
		{name: "desktop on ventura: auto-resize only degrades", host: mac("arm64", "13.6"), c: linuxDesktop()},
		{name: "desktop on intel", host: mac("amd64", "14.5"), c: linuxDesktop(),
			want: "Rosetta for Linux needs a Mac with Apple silicon: turn off rosetta in the VM's settings to run it on this host"},
		{name: "desktop on monterey", host: mac("arm64", "12.7"), c: linuxDesktop(),
			want: "Linux guests with Apple Virtualization need macOS 13 or later on this Mac (it has macOS 12.7): set backend = \"qemu\" to run it on this host; " +
				"An install ISO attached as a USB drive needs macOS 13 or later on this Mac (it has macOS 12.7): remove boot.iso to run it on this host; " +
				"Clipboard sharing (SPICE agent) needs macOS 13 or later on this Mac (it has macOS 12.7): turn off clipboard in the VM's settings to run it on this host; " +
				"Rosetta for Linux needs macOS 13 or later on this Mac (it has macOS 12.7): turn off rosetta in the VM's settings to run it on this host"},
		{name: "desktop on linux", host: Host{OS: "linux", Arch: "amd64"}, c: linuxDesktop(),
			want: "Apple Virtualization (backend \"vz\") needs macOS on a Mac (this is linux/amd64): set backend = \"qemu\" to run it on this host"},
		{name: "macos guest on linux", host: Host{OS: "linux", Arch: "amd64"}, c: macGuest(),
			want: "macOS guests need macOS on a Mac with Apple silicon (this is linux/amd64)"},
		{name: "macos guest on intel mac", host: mac("amd64", "14.0"), c: macGuest(),
			want: "macOS guests need a Mac with Apple silicon"},
		{name: "macos guest with automount on monterey", host: mac("arm64", "12.5"), c: macGuest(),
			want: "Automounted shared folders in macOS guests need macOS 13 or later on this Mac (it has macOS 12.5): give the shares a tag instead of automount to run it on this host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.host, tt.c)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check = nil, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Check =\n  %s\nwant\n  %s", err, tt.want)
			}
			if !errors.Is(err, vm.ErrUnsupported) {
				t.Errorf("Check error %v does not match vm.ErrUnsupported", err)
			}
		})
	}
}

func TestCheckMacOSGuestLimit(t *testing.T) {
	tests := []struct {
		name    string
		running int
		wantErr bool
	}{
		{name: "none running", running: 0},
		{name: "one running", running: 1},
		{name: "two running", running: 2, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckMacOSGuestLimit(tt.running)
			if (err != nil) != tt.wantErr {
				t.Fatalf("CheckMacOSGuestLimit(%d) = %v, want error %v", tt.running, err, tt.wantErr)
			}
			if err == nil {
				return
			}
			want := "Apple lets a Mac run at most two macOS VMs at once, and 2 are running: stop one of them, then start this one"
			if err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
			if !errors.Is(err, ErrMacOSGuestLimit) || !errors.Is(err, vm.ErrUnsupported) {
				t.Errorf("error %v should match ErrMacOSGuestLimit and vm.ErrUnsupported", err)
			}
		})
	}
}

// Every row can be read by a person: a sentence opening, a version Apple
// shipped Virtualization in, and no feature listed twice.
func TestTableRows(t *testing.T) {
	seen := map[Feature]bool{}
	for _, r := range Table() {
		if seen[r.Feature] {
			t.Errorf("%s listed twice", r.Feature)
		}
		seen[r.Feature] = true
		if !strings.HasSuffix(r.Needs, " needs") && !strings.HasSuffix(r.Needs, " need") {
			t.Errorf("%s: Needs %q should end with the verb", r.Feature, r.Needs)
		}
		if r.MinMacOS < 11 {
			t.Errorf("%s: MinMacOS %d is older than Apple Virtualization", r.Feature, r.MinMacOS)
		}
	}
}
