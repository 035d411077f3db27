// Package guestsetup prepares a Linux guest for Vivarium in one step: the
// person's user with their SSH key, the SPICE agent (clipboard), every
// share mounted at /mnt/<tag>, Rosetta registered with binfmt (vz on Apple
// silicon), and the VM's name as the hostname. The same plan is written
// two ways: a cloud-init NoCloud seed (a small "cidata" ISO attached to the
// VM's next boots) for guests with cloud-init, and one shell script for
// guests without it.
package guestsetup

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/vivarium-vm/vivarium/vm"
)

// Where things go in the guest.
const (
	// ShareRoot holds one mount point per share, named after its tag.
	ShareRoot = "/mnt"
	// RosettaMount is where the Rosetta share is mounted; binfmt runs
	// RosettaMount/rosetta for x86_64 programs.
	RosettaMount = "/media/rosetta"
	// ConfigureScript is the part of the setup cloud-init runs once per
	// seed (runcmd); the whole script of Script does the same.
	ConfigureScript = "/usr/local/sbin/vivarium-guest-setup"
	// MacOSSharesPath is where a macOS guest shows automount shares.
	MacOSSharesPath = "/Volumes/My Shared Files"
)

// Rosetta's binfmt_misc registration: x86_64 ELF executables, by magic and
// mask, run by the Rosetta binary. Flags as Lima registers current Rosetta:
// O (open the binary for the interpreter), C (credentials of the binary,
// so setuid programs work) and F (fix the interpreter at registration, so
// it keeps working in containers and chroots — which is also why the share
// must be mounted before systemd-binfmt runs).
const (
	rosettaMagic = `\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00`
	rosettaMask  = `\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`
	rosettaFlags = "OCF"
)

// Person is who gets an account in the guest.
type Person struct {
	User string // login name in the guest
	// AuthorizedKey is their OpenSSH public key line ("ssh-ed25519 AAAA… comment").
	AuthorizedKey string
}

// HostKey is the guest's SSH host key. Vivarium makes it, so the host
// knows the guest's key before the first connection and never has to
// trust one on first use.
type HostKey struct {
	Private string // OpenSSH private key file text
	Public  string // "ssh-ed25519 AAAA…"
}

// Package is a guest package, by its Debian and Fedora name, and the
// program that shows it is installed.
type Package struct {
	Name, Program string
}

// Mount is one line of the guest's /etc/fstab.
type Mount struct {
	Source, Target, FSType, Options string
}

// Line is the fstab line.
func (m Mount) Line() string {
	return fmt.Sprintf("%s %s %s %s 0 0", m.Source, m.Target, m.FSType, m.Options)
}

// File is a file the setup writes in the guest.
type File struct {
	Path    string
	Content string
	Mode    string // octal, e.g. "0644"
}

// Plan is everything guest setup does inside one guest, computed from the
// VM's config alone; UserData, MetaData and Script write it out.
type Plan struct {
	VMName   string
	Hostname string
	Person   Person
	HostKey  HostKey
	// Packages are the guest packages the setup installs when missing.
	Packages []Package
	Mounts   []Mount
	Files    []File
	// Modules are kernel modules loaded at every boot (9p over virtio).
	Modules []string
	// Notes say what the setup does not do for this VM, and why.
	Notes []string
	// SPICE is true when the SPICE agent is set up (clipboard on).
	SPICE bool
	// Rosetta is true when Rosetta is registered with binfmt.
	Rosetta bool
}

var userRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// ValidateUser checks a login name a guest accepts.
func ValidateUser(user string) error {
	switch {
	case user == "":
		return errors.New("the guest user name is empty; give the login name to create, like \"ana\"")
	case user == "root":
		return errors.New("the guest user would be root; give the name of an ordinary user to create, like \"ana\"")
	case !userRE.MatchString(user):
		return fmt.Errorf("the guest user name %q is not a Linux login name: use lower-case letters, digits, - and _, starting with a letter, at most 32", user)
	}
	return nil
}

// Hostname turns a VM name into a host name: lower case letters, digits
// and dashes, at most 63 of them ("My Desktop" becomes "my-desktop").
func Hostname(vmName string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(vmName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	h := strings.Trim(b.String(), "-")
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-")
	}
	if h == "" {
		h = "vivarium-guest"
	}
	return h
}

// NewPlan computes the setup of the VM c for person p with host key hk.
// It refuses macOS guests (they need none of it: the automount share shows
// up by itself) and guests that are not Linux.
func NewPlan(c *vm.Config, p Person, hk HostKey) (*Plan, error) {
	switch c.OS {
	case vm.OSLinux:
	case vm.OSMacOS:
		return nil, fmt.Errorf("%s: guest setup is for Linux guests; a macOS guest shows its automount shares in %q by itself, and takes a user and SSH key from its own setup assistant", c.Name, MacOSSharesPath)
	default:
		return nil, fmt.Errorf("%s: guest setup is for Linux guests; this VM's os is %q (set os = \"linux\" if it runs Linux)", c.Name, c.OS)
	}
	if err := ValidateUser(p.User); err != nil {
		return nil, err
	}
	if strings.TrimSpace(p.AuthorizedKey) == "" || strings.ContainsAny(strings.TrimSpace(p.AuthorizedKey), "\n\r") {
		return nil, errors.New("the SSH public key must be one line, like \"ssh-ed25519 AAAA… you@host\"")
	}
	pl := &Plan{
		VMName:   c.Name,
		Hostname: Hostname(c.Name),
		Person:   Person{User: p.User, AuthorizedKey: strings.TrimSpace(p.AuthorizedKey)},
		HostKey:  hk,
		Packages: []Package{{"openssh-server", "sshd"}, {"sudo", "sudo"}},
	}
	for _, s := range c.Shares {
		if s.Automount {
			continue // macOS guests only; Validate refuses it for Linux
		}
		m := Mount{Source: s.Tag, Target: path.Join(ShareRoot, s.Tag)}
		opts := []string{"rw"}
		if s.ReadOnly {
			opts[0] = "ro"
		}
		// nofail: a boot without the share (a removed folder) still
		// comes up; the mount waits for nothing on the network.
		opts = append(opts, "nofail")
		switch c.Backend {
		case vm.BackendVZ:
			m.FSType = "virtiofs"
		default:
			m.FSType = "9p"
			opts = append(opts, "trans=virtio", "version=9p2000.L", "msize=262144")
		}
		m.Options = strings.Join(opts, ",")
		pl.Mounts = append(pl.Mounts, m)
	}
	if c.Backend != vm.BackendVZ && len(pl.Mounts) > 0 {
		pl.Modules = []string{"9p", "9pnet_virtio"}
	}
	if c.Clipboard {
		pl.SPICE = true
		pl.Packages = append(pl.Packages, Package{"spice-vdagent", "spice-vdagentd"})
		// spice-vdagentd serves agents only inside a logind session unless
		// -X: with it the clipboard works under startx or a session
		// without a display manager too. Debian reads /etc/default,
		// Fedora /etc/sysconfig.
		for _, f := range []string{"/etc/default/spice-vdagentd", "/etc/sysconfig/spice-vdagentd"} {
			pl.Files = append(pl.Files, File{Path: f, Content: "# Vivarium guest setup: serve the clipboard without a login session.\nSPICE_VDAGENTD_EXTRA_ARGS=-X\n", Mode: "0644"})
		}
	} else {
		pl.Notes = append(pl.Notes, "the clipboard is off for this VM, so the SPICE agent is not installed; turn clipboard on and run guest setup again to share it")
	}
	if c.Rosetta && c.Backend == vm.BackendVZ && c.Arch == vm.ArchARM64 {
		pl.Rosetta = true
		// Before systemd-binfmt: with the F flag the kernel opens the
		// interpreter when the rule is registered. nofail: a boot on a Mac
		// without Rosetta installed still comes up.
		pl.Mounts = append(pl.Mounts, Mount{Source: vm.RosettaTag, Target: RosettaMount, FSType: "virtiofs",
			Options: "ro,nofail,x-systemd.before=systemd-binfmt.service"})
		pl.Files = append(pl.Files, File{Path: "/etc/binfmt.d/rosetta.conf", Mode: "0644",
			Content: "# Vivarium guest setup: run x86_64 programs with Rosetta.\n" + RosettaBinfmt() + "\n"})
	} else if c.Rosetta {
		pl.Notes = append(pl.Notes, "Rosetta needs the vz backend with an arm64 guest; it is not registered")
	}
	if len(pl.Modules) > 0 {
		pl.Files = append(pl.Files, File{Path: "/etc/modules-load.d/vivarium.conf", Mode: "0644",
			Content: "# Vivarium guest setup: shared folders (9p over virtio).\n" + strings.Join(pl.Modules, "\n") + "\n"})
	}
	return pl, nil
}

// RosettaBinfmt is the binfmt_misc rule that runs x86_64 programs with
// Rosetta, as /etc/binfmt.d and /proc/sys/fs/binfmt_misc/register take it.
func RosettaBinfmt() string {
	return ":rosetta:M::" + rosettaMagic + ":" + rosettaMask + ":" + path.Join(RosettaMount, "rosetta") + ":" + rosettaFlags
}
