package vm

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// ConfigVersion is the config.toml format this Vivarium reads and writes.
const ConfigVersion = 1

// Guest operating systems.
const (
	OSMacOS = "macos"
	OSLinux = "linux"
	OSOther = "other"
)

// Backends.
const (
	BackendVZ   = "vz"
	BackendQEMU = "qemu"
)

// Architectures, named as Apple and QEMU users write them.
const (
	ArchARM64 = "arm64"
	ArchAMD64 = "x86_64"
)

// Boot modes.
const (
	BootMacOS = "macos"
	BootEFI   = "efi"
	BootLinux = "linux"
)

// Accelerators of the QEMU backend, for Config.Accel.
const (
	AccelAuto = "auto" // KVM or HVF where they run ordinary guests, else TCG
	AccelKVM  = "kvm"
	AccelHVF  = "hvf"
	AccelTCG  = "tcg"
)

// Network modes.
const (
	NetNAT     = "nat"
	NetBridged = "bridged"
	NetNone    = "none"
)

// Limits a config must keep.
const (
	MinMemory    = 512 * MiB
	MaxCPUs      = 256
	MaxShareTag  = 36 // virtiofs tags are at most 36 bytes
	MinDiskSize  = 1 * MiB
	DefaultCPUs  = 2
	DefaultMem   = 4 * GiB
	DefaultDisk  = 64 * GiB
	DefaultWidth = 1920
)

// RosettaTag is the share tag Linux guests mount Rosetta from by default.
const RosettaTag = "rosetta"

// Config is one VM's config.toml: portable, editable by hand, and never
// holding run state.
type Config struct {
	Version    int     `toml:"version" json:"version"`
	Name       string  `toml:"name" json:"name"`
	OS         string  `toml:"os" json:"os"`
	Backend    string  `toml:"backend" json:"backend"`
	Arch       string  `toml:"arch" json:"arch"`
	Accel      string  `toml:"accel" json:"accel"`
	CPUs       int     `toml:"cpus" json:"cpus"`
	Memory     Size    `toml:"memory" json:"memory"`
	Disposable bool    `toml:"disposable" json:"disposable"`
	Clipboard  bool    `toml:"clipboard" json:"clipboard"`
	Rosetta    bool    `toml:"rosetta" json:"rosetta"`
	Audio      bool    `toml:"audio" json:"audio"`
	Serial     bool    `toml:"serial" json:"serial"`
	Boot       Boot    `toml:"boot" json:"boot"`
	Disks      []Disk  `toml:"disks" json:"disks"`
	Display    Display `toml:"display" json:"display"`
	Network    Network `toml:"network" json:"network"`
	Shares     []Share `toml:"shares" json:"shares"`
}

// Boot says how the VM starts.
type Boot struct {
	Mode    string `toml:"mode" json:"mode"`
	ISO     string `toml:"iso,omitempty" json:"iso,omitempty"`
	Kernel  string `toml:"kernel,omitempty" json:"kernel,omitempty"`
	Initrd  string `toml:"initrd,omitempty" json:"initrd,omitempty"`
	Cmdline string `toml:"cmdline,omitempty" json:"cmdline,omitempty"`
}

// Disk is one disk image inside the VM directory.
type Disk struct {
	File     string `toml:"file" json:"file"`
	Size     Size   `toml:"size" json:"size"`
	ReadOnly bool   `toml:"read_only" json:"read_only"`
}

// Display is the guest's screen.
type Display struct {
	Width      int  `toml:"width" json:"width"`
	Height     int  `toml:"height" json:"height"`
	PPI        int  `toml:"ppi" json:"ppi"`
	AutoResize bool `toml:"auto_resize" json:"auto_resize"`
}

// Network is the VM's single network interface.
type Network struct {
	Mode      string `toml:"mode" json:"mode"`
	Interface string `toml:"interface,omitempty" json:"interface,omitempty"`
	MAC       string `toml:"mac" json:"mac"`
	// Forwards are NAT port forwards from the host, like "2222:22"
	// (qemu; see ParseForward).
	Forwards []string `toml:"forwards,omitempty" json:"forwards,omitempty"`
}

// Share is a host directory shown to the guest.
type Share struct {
	Path      string `toml:"path" json:"path"`
	Tag       string `toml:"tag,omitempty" json:"tag,omitempty"`
	Automount bool   `toml:"automount" json:"automount"`
	ReadOnly  bool   `toml:"read_only" json:"read_only"`
}

// HostArch is this host's architecture in config terms.
func HostArch() string {
	if runtime.GOARCH == "arm64" {
		return ArchARM64
	}
	return ArchAMD64
}

// DefaultBackend is vz on macOS and qemu elsewhere.
func DefaultBackend() string {
	if runtime.GOOS == "darwin" {
		return BackendVZ
	}
	return BackendQEMU
}

// NewConfig returns a config for a new VM with every default filled in.
func NewConfig(name, guestOS string) *Config {
	c := &Config{Version: ConfigVersion, Name: name, OS: guestOS}
	c.FillDefaults()
	return c
}

// FillDefaults sets every field left empty to its default. It never changes
// a value a person wrote.
func (c *Config) FillDefaults() {
	if c.Version == 0 {
		c.Version = ConfigVersion
	}
	if c.OS == "" {
		c.OS = OSLinux
	}
	if c.Backend == "" {
		c.Backend = DefaultBackend()
		if c.OS == OSMacOS {
			c.Backend = BackendVZ
		}
	}
	if c.Arch == "" {
		c.Arch = HostArch()
		if c.OS == OSMacOS {
			c.Arch = ArchARM64
		}
	}
	if c.Accel == "" {
		c.Accel = AccelAuto
	}
	if c.CPUs == 0 {
		c.CPUs = DefaultCPUs
	}
	if c.Memory == 0 {
		c.Memory = DefaultMem
	}
	if c.Boot.Mode == "" {
		switch {
		case c.OS == OSMacOS:
			c.Boot.Mode = BootMacOS
		case c.Boot.Kernel != "":
			c.Boot.Mode = BootLinux
		default:
			c.Boot.Mode = BootEFI
		}
	}
	for i := range c.Disks {
		if c.Disks[i].File == "" {
			c.Disks[i].File = DiskFileName(i)
		}
	}
	if c.Display.Width == 0 && c.Display.Height == 0 {
		c.Display.Width, c.Display.Height = DefaultWidth, 1080
		c.Display.AutoResize = true
	}
	if c.Display.PPI == 0 {
		c.Display.PPI = 80
		if c.OS == OSMacOS {
			c.Display.PPI = 144
		}
	}
	if c.Network.Mode == "" {
		c.Network.Mode = NetNAT
	}
	if c.Network.MAC == "" && c.Network.Mode != NetNone {
		c.Network.MAC = RandomMAC()
	}
	taken := map[string]bool{}
	if c.Rosetta {
		taken[RosettaTag] = true
	}
	for _, s := range c.Shares {
		taken[s.Tag] = true
	}
	for i := range c.Shares {
		if c.Shares[i].Tag == "" && !c.Shares[i].Automount {
			c.Shares[i].Tag = shareTagFromPath(c.Shares[i].Path, taken)
			taken[c.Shares[i].Tag] = true
		}
	}
}

// RandomMAC returns a locally administered unicast MAC address.
func RandomMAC() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	b[0] = (b[0] | 0x02) &^ 0x01
	return net.HardwareAddr(b[:]).String()
}

// shareTagFromPath makes the tag a share gets when none is given: the
// folder's name, kept to what every guest's mount accepts (ASCII letters,
// digits, - and _; at most MaxShareTag bytes), and made unique against
// taken with a -2, -3, … suffix. "My Projects" becomes "My-Projects".
func shareTagFromPath(p string, taken map[string]bool) string {
	var b strings.Builder
	dash := false
	for _, r := range filepath.Base(filepath.Clean(p)) {
		ok := r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		if !ok || r == '-' {
			dash = b.Len() > 0
			continue
		}
		if dash {
			b.WriteByte('-')
			dash = false
		}
		b.WriteRune(r)
	}
	base := b.String()
	if base == "" {
		base = "share"
	}
	if len(base) > MaxShareTag {
		base = base[:MaxShareTag]
	}
	tag := base
	for n := 2; taken[tag]; n++ {
		suffix := fmt.Sprintf("-%d", n)
		tag = base
		if len(tag)+len(suffix) > MaxShareTag {
			tag = tag[:MaxShareTag-len(suffix)]
		}
		tag += suffix
	}
	return tag
}

// DiskFileName is the file name of the VM's i-th disk.
func DiskFileName(i int) string { return fmt.Sprintf("disk-%d.img", i) }

// FieldError is one thing wrong with a config: the key, what is wrong, and
// (in the message) what to do.
type FieldError struct {
	Key string // dotted TOML key, e.g. "memory" or "shares[1].tag"
	Msg string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Msg }

// Unwrap lets errors.Is(err, ErrInvalidConfig) hold for every field error.
func (e *FieldError) Unwrap() error { return ErrInvalidConfig }

// FieldErrors are all the problems found in one config.
type FieldErrors []*FieldError

func (es FieldErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap returns every field error, so errors.As finds them.
func (es FieldErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// For returns the error about key, or nil.
func (es FieldErrors) For(key string) *FieldError {
	for _, e := range es {
		if e.Key == key {
			return e
		}
	}
	return nil
}

// Validate checks everything that can be known from the config alone. It
// returns FieldErrors (nil when valid). Checks that need the host, such as
// whether a share's directory exists, are in CheckPaths.
func (c *Config) Validate() error {
	var errs FieldErrors
	add := func(key, format string, args ...any) {
		errs = append(errs, &FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if c.Version != ConfigVersion {
		add("version", "is %d; this Vivarium reads version %d", c.Version, ConfigVersion)
	}
	if err := ValidateName(c.Name); err != nil {
		add("name", "%s", strings.TrimPrefix(err.Error(), ErrInvalidName.Error()+" "))
	}
	oneOf := func(key, v string, allowed ...string) bool {
		for _, a := range allowed {
			if v == a {
				return true
			}
		}
		add(key, "is %q; use one of %s", v, quoteList(allowed))
		return false
	}
	osOK := oneOf("os", c.OS, OSMacOS, OSLinux, OSOther)
	backendOK := oneOf("backend", c.Backend, BackendVZ, BackendQEMU)
	oneOf("arch", c.Arch, ArchARM64, ArchAMD64)
	oneOf("accel", c.Accel, AccelAuto, AccelKVM, AccelHVF, AccelTCG)
	if osOK && backendOK && c.OS == OSMacOS && c.Backend == BackendQEMU {
		add("backend", "macOS guests need the vz backend (Apple Virtualization); set backend = \"vz\"")
	}
	if c.OS == OSMacOS && c.Arch != ArchARM64 {
		add("arch", "macOS guests run only on arm64 (Apple silicon); set arch = \"arm64\"")
	}
	if c.CPUs < 1 {
		add("cpus", "is %d; a VM needs at least 1 CPU", c.CPUs)
	} else if c.CPUs > MaxCPUs {
		add("cpus", "is %d; use at most %d", c.CPUs, MaxCPUs)
	}
	switch {
	case c.Memory < MiB:
		add("memory", "is %s; give the VM at least %s, e.g. \"4GiB\" (in config.toml a number without a unit counts bytes)", c.Memory.Human(), MinMemory)
	case c.Memory < MinMemory:
		add("memory", "is %s; give the VM at least %s, e.g. \"4GiB\"", c.Memory.Human(), MinMemory)
	case c.Memory > 4*TiB:
		add("memory", "is %s; that is more than any host has", c.Memory.Human())
	case c.Memory%MiB != 0:
		add("memory", "is %s, not a whole number of MiB, which Apple's Virtualization and QEMU both need; use %s", c.Memory, c.Memory.floorMiB())
	}
	c.validateBoot(add)
	c.validateDisks(add)
	c.validateDisplay(add)
	c.validateNetwork(add)
	c.validateForwards(add)
	c.validateShares(add)
	if c.Rosetta && c.OS != OSLinux {
		add("rosetta", "Rosetta runs x86_64 programs in Linux guests only; turn it off for a %s guest", c.OS)
	} else if c.Rosetta && c.Backend != BackendVZ {
		add("rosetta", "Rosetta needs the vz backend on an Apple silicon Mac; it is not available with qemu")
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

type addFunc func(key, format string, args ...any)

func (c *Config) validateBoot(add addFunc) {
	switch c.Boot.Mode {
	case BootMacOS:
		if c.OS != OSMacOS {
			add("boot.mode", "\"macos\" boots macOS guests only; use \"efi\" or \"linux\" for a %s guest", c.OS)
		}
	case BootEFI:
		if c.OS == OSMacOS {
			add("boot.mode", "macOS guests boot with mode = \"macos\"")
		}
	case BootLinux:
		if c.OS == OSMacOS {
			add("boot.mode", "macOS guests boot with mode = \"macos\"")
		}
		if c.Boot.Kernel == "" {
			add("boot.kernel", "is empty; mode \"linux\" needs the path of a kernel image")
		}
	default:
		add("boot.mode", "is %q; use one of \"macos\", \"efi\", \"linux\"", c.Boot.Mode)
	}
	if c.Boot.Mode != BootLinux {
		if c.Boot.Kernel != "" || c.Boot.Initrd != "" || c.Boot.Cmdline != "" {
			add("boot.kernel", "kernel, initrd and cmdline are used only with mode = \"linux\"; remove them or set the mode")
		}
	}
	if c.Boot.ISO != "" && c.Boot.Mode != BootEFI {
		add("boot.iso", "an install ISO boots with mode = \"efi\" only")
	}
}

func (c *Config) validateDisks(add addFunc) {
	if c.OS == OSMacOS && len(c.Disks) == 0 {
		add("disks", "a macOS guest needs a disk to install onto")
	}
	seen := map[string]bool{}
	for i, d := range c.Disks {
		key := fmt.Sprintf("disks[%d]", i)
		if err := validateLocalFile(d.File); err != nil {
			add(key+".file", "%v", err)
		}
		if seen[d.File] {
			add(key+".file", "%q is listed twice; each disk needs its own file", d.File)
		}
		seen[d.File] = true
		if d.Size < MinDiskSize {
			add(key+".size", "is %s; give the disk a size such as \"64GiB\"", d.Size.Human())
		} else if d.Size > 64*TiB {
			add(key+".size", "is %s; use at most 64TiB", d.Size.Human())
		}
	}
}

// validateLocalFile accepts a plain file name inside the VM directory.
func validateLocalFile(name string) error {
	switch {
	case name == "":
		return errors.New("is empty; name a file in the VM directory, like \"disk-0.img\"")
	case name != filepath.Base(name) || strings.ContainsAny(name, "/\\") || name == "." || name == "..":
		return fmt.Errorf("%q must be a file name inside the VM directory, without folders", name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("%q starts with a dot; disk files are visible files", name)
	case name == ConfigFile || name == RunDir:
		return fmt.Errorf("%q is reserved", name)
	}
	return nil
}

func (c *Config) validateDisplay(add addFunc) {
	d := c.Display
	if d.Width < 640 || d.Width > 8192 {
		add("display.width", "is %d; use 640 to 8192 pixels", d.Width)
	}
	if d.Height < 480 || d.Height > 8192 {
		add("display.height", "is %d; use 480 to 8192 pixels", d.Height)
	}
	if d.PPI < 72 || d.PPI > 400 {
		add("display.ppi", "is %d; use 72 to 400 (80 for a normal screen, 144 for Retina)", d.PPI)
	}
}

func (c *Config) validateNetwork(add addFunc) {
	n := c.Network
	switch n.Mode {
	case NetNAT, NetNone:
		if n.Interface != "" {
			add("network.interface", "is used only with mode = \"bridged\"")
		}
	case NetBridged:
		if n.Interface == "" {
			add("network.interface", "is empty; bridged networking needs a host interface such as \"en0\"")
		}
	default:
		add("network.mode", "is %q; use one of \"nat\", \"bridged\", \"none\"", n.Mode)
	}
	if n.Mode == NetNone {
		return
	}
	hw, err := net.ParseMAC(n.MAC)
	switch {
	case n.MAC == "":
		add("network.mac", "is empty; remove the line to get a new random address")
	case err != nil || len(hw) != 6:
		add("network.mac", "%q is not a MAC address like \"52:54:00:12:34:56\"", n.MAC)
	case hw[0]&1 == 1:
		add("network.mac", "%q is a multicast address; the first byte must be even", n.MAC)
	}
}

func (c *Config) validateShares(add addFunc) {
	tags := map[string]int{}
	for i, s := range c.Shares {
		key := fmt.Sprintf("shares[%d]", i)
		if s.Path == "" {
			add(key+".path", "is empty; give the host folder to share")
		} else if !filepath.IsAbs(s.Path) {
			add(key+".path", "%q is relative; give the full path of the host folder", s.Path)
		} else if filepath.Clean(s.Path) == "/" {
			add(key+".path", "shares the whole host disk (/); share a folder instead")
		}
		if s.Automount {
			if c.OS != OSMacOS {
				add(key+".automount", "automount works for macOS guests; Linux guests mount the share by its tag")
			}
			continue
		}
		switch {
		case s.Tag == "":
			add(key+".tag", "is empty; the guest mounts the share by this tag")
		case len(s.Tag) > MaxShareTag:
			add(key+".tag", "%q is %d bytes; use at most %d", s.Tag, len(s.Tag), MaxShareTag)
		case strings.ContainsAny(s.Tag, " \t\n,/\\\"'"):
			add(key+".tag", "%q has spaces or punctuation; use letters, digits, - and _", s.Tag)
		case c.Rosetta && s.Tag == RosettaTag:
			add(key+".tag", "%q is taken by Rosetta; choose another tag", s.Tag)
		}
		if j, dup := tags[s.Tag]; dup && s.Tag != "" {
			add(key+".tag", "%q is also the tag of shares[%d]; each share needs its own tag", s.Tag, j)
		}
		tags[s.Tag] = i
	}
}

// CheckPaths checks what only the host can tell, just before a start: the
// shared folders exist and are directories, and the boot files exist.
func (c *Config) CheckPaths() error {
	var errs FieldErrors
	for i, s := range c.Shares {
		key := fmt.Sprintf("shares[%d].path", i)
		if err := isDir(s.Path); err != nil {
			errs = append(errs, &FieldError{Key: key, Msg: err.Error()})
		} else if real, err := filepath.EvalSymlinks(s.Path); err == nil && real == "/" {
			errs = append(errs, &FieldError{Key: key, Msg: fmt.Sprintf("%s leads to the whole host disk (/); share a folder instead", s.Path)})
		}
	}
	for key, p := range map[string]string{"boot.kernel": c.Boot.Kernel, "boot.initrd": c.Boot.Initrd, "boot.iso": c.Boot.ISO} {
		if p == "" {
			continue
		}
		if err := isFile(p); err != nil {
			errs = append(errs, &FieldError{Key: key, Msg: err.Error()})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Key < errs[j].Key })
	return errs
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
