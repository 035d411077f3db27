package vm

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// SetKey changes one setting given as a dotted key ("memory",
// "display.width", "shares[0].read_only") and a value as a person types it
// ("8GiB", "true", "1920"), and validates the result. A key that is not a
// setting, a value of the wrong type, or a key 'set' cannot honour (the
// name, a whole table or list, a disk's file or size) is refused with the
// key named and what to write instead.
func SetKey(c *Config, key, value string) (*Config, error) {
	return SetKeys(c, key+"="+value)
}

// SetKeys applies assignments written KEY=VALUE in order to a copy of c and
// validates the result once, so keys that only make sense together
// (boot.mode=linux boot.kernel=...) can be set together.
func SetKeys(c *Config, assignments ...string) (*Config, error) {
	next := c.Clone()
	for _, kv := range assignments {
		key, value, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, &FieldError{Key: kv, Msg: "write KEY=VALUE, like memory=8GiB or display.width=1920"}
		}
		if err := next.set(strings.TrimSpace(key), strings.TrimSpace(value)); err != nil {
			return nil, err
		}
	}
	next.FillDefaults()
	if err := next.Validate(); err != nil {
		return nil, err
	}
	return next, nil
}

// Clone returns a copy of c that shares nothing with it.
func (c *Config) Clone() *Config {
	cp := *c
	cp.Disks = slices.Clone(c.Disks)
	cp.Shares = slices.Clone(c.Shares)
	cp.Network.Forwards = slices.Clone(c.Network.Forwards)
	return &cp
}

// readOnlyKeys are settings 'set' cannot honour (keys without their list
// indexes), and what to do instead.
var readOnlyKeys = map[string]string{
	"version":    "is the file format's version, which Vivarium writes itself",
	"name":       "is the VM's name; change it with 'vivarium rename'",
	"disks.file": "names the disk's image in the VM's folder; 'set' cannot swap disks (edit config.toml with 'vivarium edit')",
	"disks.size": "is the size of the disk's image, which 'set' cannot resize",
}

var sizeType = reflect.TypeOf(Size(0))

// set changes one key of c in place.
func (c *Config) set(key, value string) error {
	parts, err := splitKey(key)
	if err != nil {
		return err
	}
	cur := reflect.ValueOf(c).Elem()
	for i, p := range parts {
		f, ok := fieldByTag(cur, p.name)
		path := joinKey(parts[:i+1])
		if !ok {
			return &FieldError{Key: path, Msg: "is not a setting; the settings are " + strings.Join(settableKeys(cur.Type(), joinKey(parts[:i]), namePath(parts[:i])), ", ")}
		}
		if why := readOnlyKeys[namePath(parts[:i+1])]; why != "" {
			return &FieldError{Key: path, Msg: why}
		}
		if p.index >= 0 {
			if f.Kind() != reflect.Slice {
				return &FieldError{Key: path, Msg: fmt.Sprintf("is not a list; write it without [%d]", p.index)}
			}
			switch n := f.Len(); {
			case p.index < n:
			case p.name == "disks":
				return &FieldError{Key: path, Msg: fmt.Sprintf("does not exist: this VM has %s; 'set' cannot add a disk, whose image must exist first", plural(n, "disk"))}
			case p.index == n:
				f.Set(reflect.Append(f, reflect.New(f.Type().Elem()).Elem()))
			default:
				return &FieldError{Key: path, Msg: fmt.Sprintf("there are %d %s; add them in order, starting at %s[%d]", n, p.name, p.name, n)}
			}
			f = f.Index(p.index)
		}
		last := i == len(parts)-1
		switch {
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String && last:
			return setValue(f, path, value)
		case f.Kind() == reflect.Slice:
			return &FieldError{Key: path, Msg: fmt.Sprintf("is a list; set one key of one entry, like %s[0].%s", p.name, firstKey(namePath(parts[:i+1]), f.Type().Elem()))}
		case f.Kind() == reflect.Struct && last:
			return &FieldError{Key: path, Msg: fmt.Sprintf("is a table; set one of its keys, like %s.%s", path, firstKey(namePath(parts[:i+1]), f.Type()))}
		case f.Kind() != reflect.Struct && !last:
			return &FieldError{Key: joinKey(parts), Msg: fmt.Sprintf("%s has no keys inside it; write %s=VALUE", path, path)}
		case last:
			return setValue(f, path, value)
		}
		cur = f
	}
	return nil
}

// setValue reads value as the type of f, naming the key and the type
// expected when it cannot.
func setValue(f reflect.Value, key, value string) error {
	bad := func(expects, example string) error {
		return &FieldError{Key: key, Msg: fmt.Sprintf("expects %s, like %s=%s; %q is not one", expects, key, example, value)}
	}
	switch {
	case f.Type() == sizeType:
		s, err := ParseSize(value)
		if err != nil {
			return &FieldError{Key: key, Msg: err.Error()}
		}
		f.SetInt(int64(s))
	case f.Kind() == reflect.Int:
		n, err := strconv.Atoi(value)
		if err != nil {
			return bad("a whole number", "4")
		}
		f.SetInt(int64(n))
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(value)
		if err != nil || (value != "true" && value != "false") {
			return bad("true or false", "true")
		}
		f.SetBool(b)
	case f.Kind() == reflect.String:
		// A quoted value is a TOML string ("a b", 'c:\d'); anything else is
		// taken as typed.
		var quoted struct{ V string }
		if strings.HasPrefix(value, `"`) || strings.HasPrefix(value, `'`) {
			if _, err := toml.Decode("V = "+value, &quoted); err != nil {
				return bad("text", `"some text"`)
			}
			value = quoted.V
		}
		f.SetString(value)
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		// A list of texts, written as TOML writes one: ["a", "b"]; a bare
		// word is a list of one.
		var list struct{ V []string }
		if !strings.HasPrefix(strings.TrimSpace(value), "[") {
			list.V = []string{value}
		} else if _, err := toml.Decode("V = "+value, &list); err != nil {
			return bad("a list of texts", `'["a", "b"]'`)
		}
		f.Set(reflect.ValueOf(list.V))
	default:
		return &FieldError{Key: key, Msg: "cannot be set from the command line; change it with 'vivarium edit'"}
	}
	return nil
}

// fieldByTag finds the field of struct v whose toml key is name.
func fieldByTag(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if tomlKey(t.Field(i)) == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func tomlKey(f reflect.StructField) string {
	k, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return k
}

// firstKey is the first key of struct type t, under prefix, that 'set' can
// change, for examples in errors.
func firstKey(prefix string, t reflect.Type) string {
	for i := 0; i < t.NumField(); i++ {
		if k := tomlKey(t.Field(i)); readOnlyKeys[prefix+"."+k] == "" {
			return k
		}
	}
	return tomlKey(t.Field(0))
}

// settableKeys lists the keys of struct type t that 'set' can change, under
// prefix (names, the same without indexes), for an error naming what could
// have been meant.
func settableKeys(t reflect.Type, prefix, names string) []string {
	if prefix != "" {
		prefix += "."
		names += "."
	}
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		k := tomlKey(t.Field(i))
		switch ft := t.Field(i).Type; {
		case readOnlyKeys[names+k] != "":
		case ft.Kind() == reflect.Struct && ft != sizeType:
			keys = append(keys, prefix+k+".*")
		case ft.Kind() == reflect.Slice:
			keys = append(keys, prefix+k+"[N].*")
		default:
			keys = append(keys, prefix+k)
		}
	}
	return keys
}

type keyPart struct {
	name  string
	index int // -1 when not indexed
}

// namePath is the key without list indexes: disks.file for disks[1].file.
func namePath(parts []keyPart) string {
	names := make([]string, len(parts))
	for i, p := range parts {
		names[i] = p.name
	}
	return strings.Join(names, ".")
}

func joinKey(parts []keyPart) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p.name)
		if p.index >= 0 {
			fmt.Fprintf(&b, "[%d]", p.index)
		}
	}
	return b.String()
}

func splitKey(key string) ([]keyPart, error) {
	var parts []keyPart
	for _, p := range strings.Split(key, ".") {
		kp := keyPart{name: p, index: -1}
		if i := strings.IndexByte(p, '['); i >= 0 && strings.HasSuffix(p, "]") {
			n, err := strconv.Atoi(p[i+1 : len(p)-1])
			if err != nil || n < 0 {
				return nil, &FieldError{Key: key, Msg: "has a bad index; write it like shares[0].path"}
			}
			kp = keyPart{name: p[:i], index: n}
		}
		if kp.name == "" || strings.ContainsAny(kp.name, "[]") {
			return nil, &FieldError{Key: key, Msg: "is not a key; write it like memory or display.width"}
		}
		parts = append(parts, kp)
	}
	return parts, nil
}

// plural is "1 disk", "2 disks".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
