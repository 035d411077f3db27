package reach

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/guestsetup"
)

// ErrNoAddress means the guest's address cannot be found (yet).
var ErrNoAddress = errors.New("the guest has no address yet")

// Endpoint is where the host reaches one port of a guest.
type Endpoint struct {
	Host string
	Port int
}

func (e Endpoint) String() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// Address returns where the host reaches the guest's TCP port: for a QEMU
// VM on NAT, the forward to that port (127.0.0.1:HOSTPORT); for a vz VM on
// NAT, the address bootpd leased to its MAC, read from leases (the
// contents of LeasesFile). Errors say what to do.
func Address(c *vm.Config, guestPort int, leases []byte) (Endpoint, error) {
	if c.Network.Mode == vm.NetNone {
		return Endpoint{}, fmt.Errorf("%s has no network (network.mode = \"none\"); set mode = \"nat\"", c.Name)
	}
	switch {
	case c.Backend == vm.BackendQEMU && c.Network.Mode == vm.NetNAT:
		f, ok := c.Network.ForwardTo(guestPort)
		if !ok {
			return Endpoint{}, fmt.Errorf("%s: no forward reaches the guest's port %d: add one, e.g. vivarium set %s 'network.forwards=[\"%d:%d\"]' (guest setup adds one for SSH), and restart the VM",
				c.Name, guestPort, shellWord(c.Name), guestsetup.FirstSSHForward, guestPort)
		}
		return Endpoint{Host: f.HostAddr, Port: f.HostPort}, nil
	case c.Backend == vm.BackendVZ:
		mac, err := net.ParseMAC(c.Network.MAC)
		if err != nil {
			return Endpoint{}, fmt.Errorf("%s: network.mac %q: %w", c.Name, c.Network.MAC, err)
		}
		all, err := ParseLeases(leases)
		if err != nil {
			return Endpoint{}, err
		}
		l, ok := LeaseFor(all, mac)
		if !ok {
			return Endpoint{}, fmt.Errorf("%s: %w: no DHCP lease for its MAC %s in %s; wait until the guest has booted and brought up its network",
				c.Name, ErrNoAddress, c.Network.MAC, LeasesFile)
		}
		return Endpoint{Host: l.IP.String(), Port: guestPort}, nil
	default:
		return Endpoint{}, fmt.Errorf("%s: %w: a bridged guest gets its address from your network's DHCP server; look it up there or in the guest (ip addr)", c.Name, ErrNoAddress)
	}
}

// ReadLeases reads LeasesFile; a host without one (Linux, or a Mac that
// never ran a vz guest on NAT) has no leases.
func ReadLeases() ([]byte, error) {
	data, err := os.ReadFile(LeasesFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// SSH is how to run ssh into a set-up guest.
type SSH struct {
	Record   *guestsetup.Record
	Endpoint Endpoint
	// KnownHosts is the VM's known_hosts file: the host key guest setup
	// made, under Alias, so ssh checks the guest strictly from the first
	// connection and never asks to trust it.
	KnownHosts string
	Alias      string
}

// NewSSH prepares ssh into the VM in b at e, writing its known_hosts file
// from what guest setup recorded.
func NewSSH(b vm.Bundle, e Endpoint) (*SSH, error) {
	rec, err := guestsetup.LoadRecord(b)
	if err != nil {
		return nil, err
	}
	if rec.HostKey == "" || strings.ContainsAny(rec.HostKey, "\n\r") {
		return nil, fmt.Errorf("%s: the recorded host key is missing or damaged; run guest setup again", b.GuestSetupPath())
	}
	s := &SSH{Record: rec, Endpoint: e, KnownHosts: b.KnownHostsPath(), Alias: "vivarium-" + rec.Hostname}
	line := []byte(s.Alias + " " + rec.HostKey + "\n")
	if old, err := os.ReadFile(s.KnownHosts); err != nil || string(old) != string(line) {
		if err := vm.WriteFileAtomic(s.KnownHosts, line, 0o600); err != nil {
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
	}
	return s, nil
}

// Args is the ssh command line, argv[0] "ssh" included, running command in
// the guest (an interactive login when command is empty).
func (s *SSH) Args(command []string) []string {
	args := []string{"ssh",
		"-i", s.Record.Identity,
		"-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile=" + s.KnownHosts,
		"-o", "StrictHostKeyChecking=yes",
		"-o", "HostKeyAlias=" + s.Alias,
		"-o", "ConnectTimeout=10",
		"-p", strconv.Itoa(s.Endpoint.Port),
		"-l", s.Record.User,
		// ssh reads options after the host too: "--" before it keeps the
		// command's own options ("ls -la") the command's.
		"--", s.Endpoint.Host,
	}
	return append(args, command...)
}

func shellWord(s string) string {
	if strings.ContainsAny(s, " '\"$`\\!&;|<>()*?[]#~") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}
