package vm

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Size is a number of bytes. In config.toml it is written as a string with a
// binary unit ("8GiB", "512MiB"); a plain integer means bytes.
type Size int64

// Binary size units.
const (
	KiB Size = 1 << (10 * (iota + 1))
	MiB
	GiB
	TiB
)

var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
}

// ParseSize reads "64GiB", "8G", "1.5GiB", "512 MiB" or "1073741824".
// K, M, G and T alone are binary units, as people who size disks mean them.
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !(unicode.IsDigit(r) || r == '.') })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	}
	mult, ok := sizeUnits[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("%q is not a size: write a number with a unit, like \"8GiB\" or \"512MiB\"", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size: write a number with a unit, like \"8GiB\" or \"512MiB\"", s)
	}
	bytes := f * mult
	if bytes > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return Size(bytes), nil
}

// String writes the size in the largest binary unit that keeps it exact.
func (s Size) String() string {
	for _, u := range []struct {
		n    Size
		name string
	}{{TiB, "TiB"}, {GiB, "GiB"}, {MiB, "MiB"}, {KiB, "KiB"}} {
		if s >= u.n && s%u.n == 0 {
			return strconv.FormatInt(int64(s/u.n), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// Human writes the size rounded for reading ("1.5 GiB").
func (s Size) Human() string {
	f := float64(s)
	for _, u := range []string{"B", "KiB", "MiB", "GiB", "TiB"} {
		if f < 1024 || u == "TiB" {
			if u == "B" {
				return fmt.Sprintf("%d B", int64(s))
			}
			return strconv.FormatFloat(f, 'f', 1, 64) + " " + u
		}
		f /= 1024
	}
	return ""
}

// MarshalText implements encoding.TextMarshaler.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// UnmarshalTOML accepts a size string or a plain integer of bytes.
func (s *Size) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case string:
		return s.UnmarshalText([]byte(x))
	case int64:
		if x < 0 {
			return fmt.Errorf("%d is negative: sizes are positive", x)
		}
		*s = Size(x)
		return nil
	default:
		return fmt.Errorf("expected a size like \"8GiB\", got %T", v)
	}
}
