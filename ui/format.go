package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vivarium-vm/vivarium/vm"
)

// stateText is a state as the badge shows it.
func stateText(s vm.State) string {
	if s == "" {
		return "unknown"
	}
	return string(s)
}

// osName is a guest OS as people write it.
func osName(guestOS string) string {
	switch guestOS {
	case vm.OSMacOS:
		return "macOS"
	case vm.OSLinux:
		return "Linux"
	case vm.OSOther:
		return "Other"
	}
	return guestOS
}

func backendName(b string) string {
	switch b {
	case vm.BackendVZ:
		return "Apple Virtualization"
	case vm.BackendQEMU:
		return "QEMU"
	}
	return b
}

func guestOS(info *vm.Info) string {
	if info.Config == nil {
		return vm.OSOther
	}
	return info.Config.OS
}

// rowSubtitle is the line under a VM's name in the list.
func rowSubtitle(info *vm.Info) string {
	if info.Config == nil {
		return "Cannot be read"
	}
	c := info.Config
	parts := []string{osName(c.OS), plural(c.CPUs, "CPU"), c.Memory.Human()}
	if c.Disposable {
		parts = append(parts, "disposable")
	}
	return strings.Join(parts, " · ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func onOff(b bool, on, off string) string {
	if b {
		return on
	}
	return off
}

// summaryRow is one line of a VM's summary: a label and its value.
type summaryRow struct{ label, value string }

// summary is what the detail pane says about a VM, in order.
func summary(info *vm.Info) []summaryRow {
	c := info.Config
	if c == nil {
		return nil
	}
	rows := []summaryRow{
		{"Operating system", osName(c.OS) + " (" + c.Arch + ")"},
		{"Backend", backendName(c.Backend)},
		{"CPUs", fmt.Sprint(c.CPUs)},
		{"Memory", c.Memory.Human()},
		{"Boot", bootText(c)},
		{"Disks", disksText(info)},
		{"Display", fmt.Sprintf("%d × %d%s", c.Display.Width, c.Display.Height, onOff(c.Display.AutoResize, ", follows the window", ""))},
		{"Network", networkText(c.Network)},
		{"Shared folders", sharesText(c.Shares)},
		{"Clipboard", onOff(c.Clipboard, "Shared with the guest", "Not shared")},
	}
	if c.OS == vm.OSLinux {
		rows = append(rows, summaryRow{"Rosetta", onOff(c.Rosetta, "On", "Off")})
	}
	rows = append(rows, summaryRow{"Disposable", onOff(c.Disposable, "Every run starts fresh; changes are thrown away", "Off: changes are kept")})
	return rows
}

func bootText(c *vm.Config) string {
	switch c.Boot.Mode {
	case vm.BootMacOS:
		return "macOS"
	case vm.BootEFI:
		if c.Boot.ISO != "" {
			return "EFI, installer " + filepath.Base(c.Boot.ISO)
		}
		return "EFI"
	case vm.BootLinux:
		return "Linux kernel " + filepath.Base(c.Boot.Kernel)
	}
	return c.Boot.Mode
}

func disksText(info *vm.Info) string {
	if len(info.Disks) == 0 {
		return "None"
	}
	lines := make([]string, len(info.Disks))
	for i, d := range info.Disks {
		lines[i] = fmt.Sprintf("%s: %s used of %s", d.File, d.Allocated.Human(), d.Size.Human())
		if i < len(info.Config.Disks) && info.Config.Disks[i].ReadOnly {
			lines[i] += ", read-only"
		}
	}
	return strings.Join(lines, "\n")
}

func networkText(n vm.Network) string {
	switch n.Mode {
	case vm.NetNAT:
		if len(n.Forwards) > 0 {
			return "Shared (NAT), " + n.MAC + "\nPorts " + forwardsText(n.Forwards)
		}
		return "Shared (NAT), " + n.MAC
	case vm.NetBridged:
		return "Bridged to " + n.Interface + ", " + n.MAC
	case vm.NetNone:
		return "None"
	}
	return n.Mode
}

func sharesText(shares []vm.Share) string {
	if len(shares) == 0 {
		return "None"
	}
	lines := make([]string, len(shares))
	for i, s := range shares {
		target := "tag " + s.Tag
		if s.Automount {
			target = "mounted automatically"
		}
		lines[i] = fmt.Sprintf("%s (%s%s)", displayPath(s.Path), target, onOff(s.ReadOnly, ", read-only", ""))
	}
	return strings.Join(lines, "\n")
}

// fieldSentence turns a config error about a key ("is 0; use at least 1")
// into a sentence under the field labelled label ("CPUs is 0; …").
func fieldSentence(label, msg string) string {
	if strings.HasPrefix(msg, "is ") {
		if label == "" {
			label = "This"
		}
		return label + " " + msg
	}
	return msg
}

// displayPath writes a path under the home folder as ~/…, as Finder and
// shells do.
func displayPath(p string) string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" || home == "/" {
		return p
	}
	if rel, err := filepath.Rel(home, p); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		return filepath.Join("~", rel)
	}
	return p
}

// uniqueName returns base, or base with the lowest number after it that no
// VM in taken has.
func uniqueName(base string, taken func(string) bool) string {
	if !taken(base) {
		return base
	}
	for i := 2; ; i++ {
		n := fmt.Sprintf("%s %d", base, i)
		if !taken(n) {
			return n
		}
	}
}

// forwardsText shows forwards as a person reads them: "127.0.0.1:2222 → 22".
func forwardsText(forwards []string) string {
	parts := make([]string, 0, len(forwards))
	for _, s := range forwards {
		f, err := vm.ParseForward(s)
		if err != nil {
			parts = append(parts, s)
			continue
		}
		p := fmt.Sprintf("%s:%d → %d", f.HostAddr, f.HostPort, f.GuestPort)
		if f.Proto == vm.ProtoUDP {
			p += " (udp)"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}
