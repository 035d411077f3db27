package oci

import (
	"fmt"
	"os"

	"github.com/vivarium-vm/vivarium/vm"
)

// HostPathKeys names the config keys that hold paths of the host, not of
// the VM: they do not travel in an image (a share of /Users/ann means
// nothing on Bob's Mac), and a pull puts back only those that exist on
// its host.
var hostPathKeys = []string{"boot.iso", "boot.kernel", "boot.initrd", "shares[N].path"}

// HostPathKeys returns the config keys whose paths stay on the host.
func HostPathKeys() []string { return append([]string(nil), hostPathKeys...) }

// stripHostPaths returns a copy of c without its host paths, and the paths
// taken out by key.
func stripHostPaths(c *vm.Config) (*vm.Config, map[string]string) {
	out := *c
	out.Shares = append([]vm.Share(nil), c.Shares...)
	paths := map[string]string{}
	for key, p := range map[string]*string{"boot.iso": &out.Boot.ISO, "boot.kernel": &out.Boot.Kernel, "boot.initrd": &out.Boot.Initrd} {
		if *p != "" {
			paths[key] = *p
			*p = ""
		}
	}
	for i := range out.Shares {
		paths[fmt.Sprintf("shares[%d].path", i)] = out.Shares[i].Path
		out.Shares[i].Path = ""
	}
	return &out, paths
}

// restoreHostPaths puts back into c the paths that exist on this host and
// drops what cannot work without its path. It returns one line per path
// left out, saying what to do.
func restoreHostPaths(c *vm.Config, paths map[string]string) []string {
	var dropped []string
	exists := func(key string, dir bool) (string, bool) {
		p, ok := paths[key]
		if !ok {
			return "", false
		}
		st, err := os.Stat(p)
		if err != nil || st.IsDir() != dir {
			dropped = append(dropped, fmt.Sprintf("%s (%s is not on this computer)", key, p))
			return "", false
		}
		return p, true
	}
	c.Boot.ISO, _ = exists("boot.iso", false)
	kernel, kok := exists("boot.kernel", false)
	initrd, _ := exists("boot.initrd", false)
	if c.Boot.Mode == vm.BootLinux && !kok {
		if c.Boot.Cmdline != "" {
			dropped = append(dropped, fmt.Sprintf("boot.cmdline %q", c.Boot.Cmdline))
		}
		dropped = append(dropped, "boot.mode \"linux\" (it boots with EFI now; set boot.mode, boot.kernel and boot.initrd to boot a kernel)")
		c.Boot = vm.Boot{Mode: vm.BootEFI}
	} else {
		c.Boot.Kernel, c.Boot.Initrd = kernel, initrd
	}
	var shares []vm.Share
	for i, s := range c.Shares {
		if p, ok := exists(fmt.Sprintf("shares[%d].path", i), true); ok {
			s.Path = p
			shares = append(shares, s)
		}
	}
	c.Shares = shares
	return dropped
}
