package vm

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Forward protocols.
const (
	ProtoTCP = "tcp"
	ProtoUDP = "udp"
)

// Forward is one port forward of a NAT network: connections to HostAddr:
// HostPort on the host reach GuestPort in the guest. It is written in the
// config as "2222:22", "127.0.0.1:2222:22" or "udp/5353:53".
type Forward struct {
	Proto     string // ProtoTCP or ProtoUDP
	HostAddr  string // a loopback address; "127.0.0.1" unless written
	HostPort  int
	GuestPort int
}

// String writes f the way ParseForward reads it, in its shortest form.
func (f Forward) String() string {
	s := strconv.Itoa(f.HostPort) + ":" + strconv.Itoa(f.GuestPort)
	if f.HostAddr != "" && f.HostAddr != "127.0.0.1" {
		s = f.HostAddr + ":" + s
	}
	if f.Proto == ProtoUDP {
		s = ProtoUDP + "/" + s
	}
	return s
}

// ParseForward reads a forward as a person writes it: [tcp/|udp/]
// [127.0.0.1:]HOSTPORT:GUESTPORT. The host side is a loopback address, so a
// forward never opens the guest to the network; the error says what to
// write instead.
func ParseForward(s string) (Forward, error) {
	f := Forward{Proto: ProtoTCP, HostAddr: "127.0.0.1"}
	rest := strings.TrimSpace(s)
	if proto, after, ok := strings.Cut(rest, "/"); ok {
		switch strings.ToLower(proto) {
		case ProtoTCP, ProtoUDP:
			f.Proto = strings.ToLower(proto)
		default:
			return f, fmt.Errorf("%q: protocol %q is not tcp or udp; write it like \"tcp/2222:22\" or leave it out", s, proto)
		}
		rest = after
	}
	parts := strings.Split(rest, ":")
	switch len(parts) {
	case 2:
	case 3:
		f.HostAddr = parts[0]
		parts = parts[1:]
	default:
		return f, fmt.Errorf("%q is not a forward; write HOSTPORT:GUESTPORT, like \"2222:22\"", s)
	}
	if f.HostAddr == "localhost" {
		f.HostAddr = "127.0.0.1"
	}
	if ip := net.ParseIP(f.HostAddr); ip == nil || ip.To4() == nil {
		return f, fmt.Errorf("%q: %q is not an IPv4 address; leave it out to listen on 127.0.0.1", s, f.HostAddr)
	} else if !ip.IsLoopback() {
		return f, fmt.Errorf("%q: %s would open the guest to other computers; Vivarium forwards only from this computer (127.0.0.1)", s, f.HostAddr)
	}
	for i, name := range []string{"host", "guest"} {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 1 || n > 65535 {
			return f, fmt.Errorf("%q: the %s port %q is not a port number from 1 to 65535", s, name, parts[i])
		}
		if i == 0 {
			f.HostPort = n
		} else {
			f.GuestPort = n
		}
	}
	return f, nil
}

// ParsedForwards parses every forward of the network; it fails on the first bad one.
func (n Network) ParsedForwards() ([]Forward, error) {
	out := make([]Forward, 0, len(n.Forwards))
	for i, s := range n.Forwards {
		f, err := ParseForward(s)
		if err != nil {
			return nil, fmt.Errorf("network.forwards[%d]: %w", i, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// ForwardTo returns the forward that reaches the guest's TCP port, if any.
func (n Network) ForwardTo(guestPort int) (Forward, bool) {
	fs, err := n.ParsedForwards()
	if err != nil {
		return Forward{}, false
	}
	for _, f := range fs {
		if f.Proto == ProtoTCP && f.GuestPort == guestPort {
			return f, true
		}
	}
	return Forward{}, false
}

func (c *Config) validateForwards(add addFunc) {
	n := c.Network
	if len(n.Forwards) == 0 {
		return
	}
	switch {
	case n.Mode != NetNAT:
		add("network.forwards", "forward ports with mode = \"nat\" only; a %s network has no NAT to forward through", n.Mode)
		return
	case c.Backend == BackendVZ:
		add("network.forwards", "the vz backend's NAT gives the guest its own address (see 'vivarium ip'); remove the forwards, they are for qemu")
		return
	}
	seen := map[string]int{}
	for i, s := range n.Forwards {
		key := fmt.Sprintf("network.forwards[%d]", i)
		f, err := ParseForward(s)
		if err != nil {
			add(key, "%v", err)
			continue
		}
		hostSide := f.Proto + "/" + f.HostAddr + ":" + strconv.Itoa(f.HostPort)
		if j, dup := seen[hostSide]; dup {
			add(key, "%q uses host port %d, as network.forwards[%d] does; give each forward its own host port", s, f.HostPort, j)
		}
		seen[hostSide] = i
	}
}
