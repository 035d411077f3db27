package reach

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/guestsetup"
)

// A leases file as macOS writes it: tabs, hex lease times, MACs without
// leading zeros, an older and a newer lease of one guest, and a
// non-ethernet client.
const leasesFile = `{
	name=old-debian
	ip_address=192.168.64.2
	hw_address=1,2:0:0:a:b:c
	identifier=1,2:0:0:a:b:c
	lease=0x65000000
}
{
	name=debian
	ip_address=192.168.64.7
	hw_address=1,2:0:0:a:b:c
	identifier=1,2:0:0:a:b:c
	lease=0x66000000
}
{
	name=mac
	ip_address=192.168.64.3
	hw_address=1,5e:1e:5a:e8:ed:b2
	identifier=1,5e:1e:5a:e8:ed:b2
	lease=0x6541a3f4
}
{
	name=firewire
	ip_address=192.168.64.9
	hw_address=24,2:0:0:a:b:c
	lease=0x67000000
}
`

func TestParseLeases(t *testing.T) {
	leases, err := ParseLeases([]byte(leasesFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(leases) != 3 {
		t.Fatalf("%d leases, want 3 (the non-ethernet one skipped): %+v", len(leases), leases)
	}
	mac, _ := net.ParseMAC("02:00:00:0a:0b:0c")
	l, ok := LeaseFor(leases, mac)
	if !ok || l.IP.String() != "192.168.64.7" || l.Name != "debian" {
		t.Errorf("LeaseFor(%s) = %+v, %v; want the newer lease 192.168.64.7", mac, l, ok)
	}
	other, _ := net.ParseMAC("52:54:00:00:00:01")
	if _, ok := LeaseFor(leases, other); ok {
		t.Errorf("found a lease for a MAC that has none")
	}
	if got, err := ParseLeases(nil); err != nil || len(got) != 0 {
		t.Errorf("an empty file: %v, %v", got, err)
	}
}

func TestParseLeasesDamaged(t *testing.T) {
	for name, text := range map[string]string{
		"cut off":         "{\n\tname=x\n\tip_address=1.2.3.4\n",
		"nested":          "{\n{\n}\n",
		"end without one": "}\n",
		"outside":         "name=x\n",
		"no equals":       "{\n\tgarbage\n}\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseLeases([]byte(text)); err == nil || !strings.Contains(err.Error(), LeasesFile) {
				t.Errorf("ParseLeases = %v, want an error naming %s", err, LeasesFile)
			}
		})
	}
}

func TestAddress(t *testing.T) {
	qemu := vm.NewConfig("web", vm.OSLinux)
	qemu.Backend = vm.BackendQEMU
	qemu.Network = vm.Network{Mode: vm.NetNAT, MAC: "52:54:00:00:00:01", Forwards: []string{"8080:80", "2230:22"}}
	vz := vm.NewConfig("arm", vm.OSLinux)
	vz.Backend, vz.Arch = vm.BackendVZ, vm.ArchARM64
	vz.Network = vm.Network{Mode: vm.NetNAT, MAC: "02:00:00:0a:0b:0c"}
	unknown := vm.NewConfig("new", vm.OSLinux)
	unknown.Backend, unknown.Arch = vm.BackendVZ, vm.ArchARM64
	unknown.Network = vm.Network{Mode: vm.NetNAT, MAC: "52:54:00:99:99:99"}
	noFwd := vm.NewConfig("plain", vm.OSLinux)
	noFwd.Backend = vm.BackendQEMU
	none := vm.NewConfig("offline", vm.OSLinux)
	none.Network = vm.Network{Mode: vm.NetNone}
	bridged := vm.NewConfig("lan", vm.OSLinux)
	bridged.Backend = vm.BackendQEMU
	bridged.Network = vm.Network{Mode: vm.NetBridged, Interface: "br0", MAC: "52:54:00:00:00:02"}

	tests := []struct {
		name    string
		c       *vm.Config
		want    string
		wantErr string
		is      error
	}{
		{"qemu: the forward", qemu, "127.0.0.1:2230", "", nil},
		{"vz: the newest lease", vz, "192.168.64.7:22", "", nil},
		{"vz: not booted yet", unknown, "", "no DHCP lease for its MAC 52:54:00:99:99:99", ErrNoAddress},
		{"qemu without a forward", noFwd, "", `network.forwards=["2222:22"]`, nil},
		{"no network", none, "", `mode = "nat"`, nil},
		{"bridged", bridged, "", "DHCP server", ErrNoAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Address(tt.c, 22, []byte(leasesFile))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Address = %v, %v; want an error saying %q", e, err, tt.wantErr)
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("error %v is not %v", err, tt.is)
				}
				return
			}
			if err != nil || e.String() != tt.want {
				t.Fatalf("Address = %v, %v; want %s", e, err, tt.want)
			}
		})
	}
}

func TestSSHArgsAndKnownHosts(t *testing.T) {
	b := vm.Bundle{Dir: t.TempDir() + "/My VM.vm"}
	if err := os.MkdirAll(b.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSSH(b, Endpoint{"127.0.0.1", 2222}); !errors.Is(err, guestsetup.ErrNotSetUp) {
		t.Fatalf("ssh into a VM never set up: %v, want ErrNotSetUp", err)
	}
	rec := `{"user":"ana","identity":"/home/ana/.ssh/id_ed25519","host_key":"ssh-ed25519 AAAAhost","hostname":"my-vm","seed":true}`
	if err := os.WriteFile(b.GuestSetupPath(), []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := NewSSH(b, Endpoint{"127.0.0.1", 2222})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(s.Args([]string{"cat", "/etc/hostname"}), " ")
	want := "ssh -i /home/ana/.ssh/id_ed25519 -o IdentitiesOnly=yes -o UserKnownHostsFile=" + b.KnownHostsPath() +
		" -o StrictHostKeyChecking=yes -o HostKeyAlias=vivarium-my-vm -o ConnectTimeout=10 -p 2222 -l ana -- 127.0.0.1 cat /etc/hostname"
	if got != want {
		t.Errorf("ssh command line\n got %s\nwant %s", got, want)
	}
	if args := s.Args(nil); args[len(args)-1] != "127.0.0.1" {
		t.Errorf("an interactive login ends with %q", args[len(args)-1])
	}
	kh, err := os.ReadFile(b.KnownHostsPath())
	if err != nil || string(kh) != "vivarium-my-vm ssh-ed25519 AAAAhost\n" {
		t.Errorf("known_hosts = %q, %v", kh, err)
	}
	if st, _ := os.Stat(b.KnownHostsPath()); st.Mode().Perm() != 0o600 {
		t.Errorf("known_hosts mode %v", st.Mode().Perm())
	}
}
