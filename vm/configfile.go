package vm

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
)

// ParseConfig reads config.toml text strictly: it reads the version first
// (so a newer file is refused with a reason rather than misread), rejects
// unknown keys, fills defaults and validates. Every error names the key.
func ParseConfig(data []byte) (*Config, error) {
	// One parse in the common case; the version is still judged before
	// anything else, so a newer file is refused for being newer rather than
	// for keys this Vivarium does not know.
	var c Config
	md, decodeErr := toml.Decode(string(data), &c)
	version := c.Version
	if decodeErr != nil {
		var stub struct {
			Version int `toml:"version"`
		}
		if _, err := toml.Decode(string(data), &stub); err != nil {
			return nil, tomlError(err)
		}
		version = stub.Version
	}
	switch {
	case version == 0:
		return nil, FieldErrors{{Key: "version", Msg: fmt.Sprintf("is missing; add version = %d as the first line", ConfigVersion)}}
	case version > ConfigVersion:
		return nil, FieldErrors{{Key: "version", Msg: fmt.Sprintf("is %d, newer than this Vivarium reads (%d); update Vivarium", version, ConfigVersion)}}
	case version < 0:
		return nil, FieldErrors{{Key: "version", Msg: fmt.Sprintf("is %d; set version = %d", version, ConfigVersion)}}
	case decodeErr != nil:
		return nil, tomlError(decodeErr)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		var errs FieldErrors
		for _, k := range undecoded {
			errs = append(errs, &FieldError{Key: k.String(), Msg: "is not a setting Vivarium knows; check its spelling or remove it"})
		}
		return nil, errs
	}
	// Vivarium once stored "8GB" of memory as 7812500KiB. QEMU ran such a VM
	// with the whole MiB below, so that is what the file is read as.
	if c.Memory > MiB {
		c.Memory = c.Memory.floorMiB()
	}
	c.FillDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// tomlError turns a decoder error into a FieldError naming the key where
// the decoder says which, keeping the line number either way.
func tomlError(err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		key := pe.LastKey
		if key == "" {
			key = "line " + strconv.Itoa(pe.Position.Line)
		}
		msg := pe.Message
		if pe.Usage != "" {
			msg += " (" + strings.TrimSpace(strings.SplitN(pe.Usage, "\n", 2)[0]) + ")"
		}
		return FieldErrors{{Key: key, Msg: fmt.Sprintf("line %d: %s", pe.Position.Line, msg)}}
	}
	// Type mismatches come as plain text: toml: line N (last key "k"): msg
	if m := decodeErrRE.FindStringSubmatch(err.Error()); m != nil {
		return FieldErrors{{Key: m[2], Msg: fmt.Sprintf("line %s: %s", m[1], m[3])}}
	}
	return FieldErrors{{Key: "config", Msg: strings.TrimPrefix(err.Error(), "toml: ")}}
}

var decodeErrRE = regexp.MustCompile(`^toml: line (\d+) \(last key "(.*?)"\): (.*)$`)

// LoadConfig reads and validates a config file.
func LoadConfig(path string) (*Config, error) {
	c, _, err := loadConfig(path)
	return c, err
}

// loadConfig reads and validates a config file, returning the revision of
// the text it read too.
func loadConfig(path string) (*Config, Revision, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(data)
	rev := revisionOfSum(sum)
	if c := parsedConfigs.get(sum); c != nil {
		return c, rev, nil
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, rev, fmt.Errorf("%s: %w", path, err)
	}
	parsedConfigs.put(sum, c)
	return c, rev, nil
}

// parsedConfigs remembers configs by the SHA-256 of their text. A listing
// reads every config.toml each time (the library window lists again on
// every change in the library), and parsing and validating the TOML was
// most of its work; a file whose text is the same parses the same.
var parsedConfigs = configCache{max: 4096}

type configCache struct {
	mu  sync.Mutex
	max int
	m   map[[sha256.Size]byte]*Config
}

// get returns a copy of the config parsed from text with this sum, or nil.
func (cc *configCache) get(sum [sha256.Size]byte) *Config {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if c := cc.m[sum]; c != nil {
		return c.Clone()
	}
	return nil
}

func (cc *configCache) put(sum [sha256.Size]byte, c *Config) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil || len(cc.m) >= cc.max {
		cc.m = make(map[[sha256.Size]byte]*Config)
	}
	cc.m[sum] = c.Clone()
}

// SaveConfig validates c and writes it atomically.
func SaveConfig(path string, c *Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return WriteFileAtomic(path, c.Encode(), 0o644)
}

// Encode writes the config as TOML a person can read and edit: a fixed key
// order, one section per part, and a comment where a value needs one.
func (c *Config) Encode() []byte {
	var w tomlWriter
	w.comment("Vivarium VM configuration. Edit while the VM is stopped, or save and restart it.")
	w.comment("Sizes take units: \"512MiB\", \"8GiB\", \"1TiB\".")
	w.kv("version", c.Version)
	w.kv("name", c.Name)
	w.kvc("os", c.OS, "macos, linux or other")
	w.kvc("backend", c.Backend, "vz (Apple Virtualization) or qemu")
	w.kvc("arch", c.Arch, "arm64 or x86_64")
	w.kvc("accel", c.Accel, "qemu accelerator: auto, kvm, hvf or tcg (emulation)")
	w.kv("cpus", c.CPUs)
	w.kv("memory", c.Memory.String())
	w.kvc("disposable", c.Disposable, "always run without keeping changes to the disks")
	w.kvc("clipboard", c.Clipboard, "share the clipboard through the SPICE agent")
	w.kvc("rosetta", c.Rosetta, "run x86_64 Linux programs with Rosetta (vz, Apple silicon)")
	w.kv("audio", c.Audio)
	w.kvc("serial", c.Serial, "keep a serial console log in run/console.log")

	w.section("boot", "mode: macos, efi (optionally with an install iso) or linux (kernel, initrd, cmdline)")
	w.kv("mode", c.Boot.Mode)
	w.kvOmit("iso", c.Boot.ISO)
	w.kvOmit("kernel", c.Boot.Kernel)
	w.kvOmit("initrd", c.Boot.Initrd)
	w.kvOmit("cmdline", c.Boot.Cmdline)

	for _, d := range c.Disks {
		w.array("disks")
		w.kv("file", d.File)
		w.kv("size", d.Size.String())
		w.kv("read_only", d.ReadOnly)
	}

	w.section("display", "auto_resize follows the window size (vz on macOS 14+, qemu with virtio-gpu)")
	w.kv("width", c.Display.Width)
	w.kv("height", c.Display.Height)
	w.kv("ppi", c.Display.PPI)
	w.kv("auto_resize", c.Display.AutoResize)

	w.section("network", "mode: nat, bridged (with interface) or none")
	w.kv("mode", c.Network.Mode)
	w.kvOmit("interface", c.Network.Interface)
	w.kvOmit("mac", c.Network.MAC)
	if len(c.Network.Forwards) > 0 {
		w.kvc("forwards", c.Network.Forwards, "host:guest ports, on 127.0.0.1 (qemu NAT)")
	}

	for _, s := range c.Shares {
		w.array("shares")
		w.kv("path", s.Path)
		w.kvOmit("tag", s.Tag)
		w.kv("automount", s.Automount)
		w.kv("read_only", s.ReadOnly)
	}
	return w.buf.Bytes()
}

// tomlWriter writes the few TOML forms a config uses, in order.
type tomlWriter struct{ buf bytes.Buffer }

func (w *tomlWriter) comment(s string) { fmt.Fprintf(&w.buf, "# %s\n", s) }

func (w *tomlWriter) section(name, comment string) {
	fmt.Fprintf(&w.buf, "\n[%s]\n", name)
	if comment != "" {
		w.comment(comment)
	}
}

func (w *tomlWriter) array(name string) { fmt.Fprintf(&w.buf, "\n[[%s]]\n", name) }

func (w *tomlWriter) kv(key string, v any) { fmt.Fprintf(&w.buf, "%s = %s\n", key, tomlValue(v)) }

func (w *tomlWriter) kvc(key string, v any, comment string) {
	fmt.Fprintf(&w.buf, "%s = %s  # %s\n", key, tomlValue(v), comment)
}

func (w *tomlWriter) kvOmit(key, v string) {
	if v != "" {
		w.kv(key, v)
	}
}

func tomlValue(v any) string {
	switch x := v.(type) {
	case string:
		return tomlString(x)
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	case []string:
		q := make([]string, len(x))
		for i, e := range x {
			q[i] = tomlString(e)
		}
		return "[" + strings.Join(q, ", ") + "]"
	default:
		panic(fmt.Sprintf("tomlValue: unexpected %T", v))
	}
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Keys lists the settable keys of c in file order, for help and completion.
func (c *Config) Keys() []string {
	var doc map[string]any
	_, _ = toml.Decode(string(c.Encode()), &doc)
	var keys []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			switch x := m[k].(type) {
			case map[string]any:
				walk(prefix+k+".", x)
			case []map[string]any:
				for i, e := range x {
					walk(fmt.Sprintf("%s%s[%d].", prefix, k, i), e)
				}
			default:
				keys = append(keys, prefix+k)
			}
		}
	}
	walk("", doc)
	return keys
}
