// Package reach finds a running guest on the network and connects to it:
// its address (`vivarium ip`: the DHCP lease macOS gave a vz guest, or the
// forwarded port of a QEMU guest) and the ssh command line (`vivarium
// ssh`) with the key and host key that guest setup installed.
package reach

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// LeasesFile is where macOS's DHCP server (bootpd, serving the vz NAT
// network) keeps its leases.
const LeasesFile = "/var/db/dhcpd_leases"

// Lease is one DHCP lease of bootpd.
type Lease struct {
	Name string
	IP   net.IP
	MAC  net.HardwareAddr
	// Expires is the lease's end, seconds since 1970 (the file's hex "lease").
	Expires int64
}

// ParseLeases reads bootpd's leases file: blocks of key=value lines
// between a "{" line and a "}" line, as Apple's PLCache_read and Tart read
// it. A block without a usable ethernet address or IPv4 address is
// skipped; a malformed file is an error naming the line.
//
//	{
//		name=debian
//		ip_address=192.168.64.3
//		hw_address=1,5e:1e:5a:e8:ed:b2
//		identifier=1,5e:1e:5a:e8:ed:b2
//		lease=0x6541a3f4
//	}
func ParseLeases(data []byte) ([]Lease, error) {
	var leases []Lease
	var cur map[string]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case line == "{":
			if cur != nil {
				return nil, fmt.Errorf("%s line %d: a lease starts inside another; the file is damaged", LeasesFile, n)
			}
			cur = map[string]string{}
		case line == "}":
			if cur == nil {
				return nil, fmt.Errorf("%s line %d: a lease ends that never started; the file is damaged", LeasesFile, n)
			}
			if l, ok := leaseFrom(cur); ok {
				leases = append(leases, l)
			}
			cur = nil
		default:
			if cur == nil {
				return nil, fmt.Errorf("%s line %d: %q is outside a lease; the file is damaged", LeasesFile, n, line)
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("%s line %d: %q is not key=value; the file is damaged", LeasesFile, n, line)
			}
			cur[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", LeasesFile, err)
	}
	if cur != nil {
		return nil, fmt.Errorf("%s: the last lease is cut off; try again in a moment", LeasesFile)
	}
	return leases, nil
}

func leaseFrom(m map[string]string) (Lease, bool) {
	l := Lease{Name: m["name"]}
	// hw_address=1,5e:1e:5a:e8:ed:b2: hardware type 1 (ethernet), then the
	// address with leading zeros dropped ("a:b:..." for "0a:0b:...").
	typ, addr, ok := strings.Cut(m["hw_address"], ",")
	if !ok || typ != "1" {
		return l, false
	}
	mac, ok := parseLooseMAC(addr)
	if !ok {
		return l, false
	}
	l.MAC = mac
	ip := net.ParseIP(m["ip_address"])
	if ip == nil || ip.To4() == nil {
		return l, false
	}
	l.IP = ip.To4()
	if exp, err := strconv.ParseInt(strings.TrimPrefix(m["lease"], "0x"), 16, 64); err == nil {
		l.Expires = exp
	}
	return l, true
}

// parseLooseMAC reads a MAC address whose bytes may lack a leading zero.
func parseLooseMAC(s string) (net.HardwareAddr, bool) {
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return nil, false
	}
	mac := make(net.HardwareAddr, 6)
	for i, p := range parts {
		b, err := strconv.ParseUint(p, 16, 8)
		if err != nil || p == "" || len(p) > 2 {
			return nil, false
		}
		mac[i] = byte(b)
	}
	return mac, true
}

// LeaseFor returns the newest lease of mac (the one that expires last), as
// the guest's address.
func LeaseFor(leases []Lease, mac net.HardwareAddr) (Lease, bool) {
	var best Lease
	found := false
	for _, l := range leases {
		if bytes.Equal(l.MAC, mac) && (!found || l.Expires >= best.Expires) {
			best, found = l, true
		}
	}
	return best, found
}
