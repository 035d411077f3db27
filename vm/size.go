package vm

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Size is a number of bytes. In config.toml it is written as a string with a
// binary unit ("8GiB", "512MiB", "4097B"). Older files may hold a plain
// integer or a string of digits: both still mean bytes.
type Size int64

// Binary size units.
const (
	KiB Size = 1 << (10 * (iota + 1))
	MiB
	GiB
	TiB
)

// binaryUnits are the units sizes take. K, M, G and T alone are binary, as
// people who size disks and memory mean them.
var binaryUnits = map[string]Size{
	"b": 1,
	"k": KiB, "kib": KiB,
	"m": MiB, "mib": MiB,
	"g": GiB, "gib": GiB,
	"t": TiB, "tib": TiB,
}

// decimalUnits are refused: "8GB" almost always means 8GiB, and storing
// 8×10⁹ bytes gives a VM memory that is not a whole number of MiB.
var decimalUnits = map[string]string{"kb": "KiB", "mb": "MiB", "gb": "GiB", "tb": "TiB"}

// ParseSize reads a size as a person types it (a command-line flag,
// 'vivarium set', a field of the window): a number and a binary unit, like
// "64GiB", "8G", "1.5GiB", "512 MiB" or "4096B". Zero needs no unit. A
// decimal unit ("8GB") is refused with the binary size meant, a number
// without a unit is refused rather than guessed, and a size that rounds to
// no bytes at all ("0.0000001KiB") is refused. It is the one size parser:
// config.toml reads its strings with it too (see UnmarshalTOML).
func ParseSize(s string) (Size, error) { return parseSize(s, false) }

// parseSize is ParseSize; bareBytes accepts a number without a unit as
// bytes, which is what config.toml files have always meant by it.
func parseSize(s string, bareBytes bool) (Size, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !(unicode.IsDigit(r) || r == '.') })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	}
	notSize := fmt.Errorf("%q is not a size: write a number with a unit, like \"8GiB\" or \"512MiB\"", s)
	f, err := strconv.ParseFloat(num, 64)
	if num == "" || err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, notSize
	}
	if meant, ok := decimalUnits[unit]; ok {
		return 0, fmt.Errorf("%q is a decimal size; did you mean %s%s? Sizes here are binary (1GiB = 1024MiB)", s, num, meant)
	}
	mult, ok := binaryUnits[unit]
	switch {
	case ok:
	case unit == "" && (bareBytes || f == 0):
		mult = 1
	case unit == "":
		return 0, fmt.Errorf("%q has no unit; write one, like \"%sGiB\" or \"%sMiB\"", s, num, num)
	default:
		return 0, notSize
	}
	bytes := math.Round(f * float64(mult))
	switch {
	case bytes > math.MaxInt64/2:
		return 0, fmt.Errorf("%q is too large", s)
	case bytes == 0 && f != 0:
		return 0, fmt.Errorf("%q is less than one byte; write a size like \"8GiB\" or \"512MiB\"", s)
	}
	return Size(bytes), nil
}

// String writes the size in the largest binary unit that keeps it exact,
// in a form ParseSize reads back.
func (s Size) String() string {
	for _, u := range []struct {
		n    Size
		name string
	}{{TiB, "TiB"}, {GiB, "GiB"}, {MiB, "MiB"}, {KiB, "KiB"}} {
		if s >= u.n && s%u.n == 0 {
			return strconv.FormatInt(int64(s/u.n), 10) + u.name
		}
	}
	if s == 0 {
		return "0"
	}
	return strconv.FormatInt(int64(s), 10) + "B"
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

// UnmarshalText implements encoding.TextUnmarshaler for stored sizes (JSON
// a Vivarium wrote): like config.toml, digits alone are bytes.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := parseSize(string(b), true)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// UnmarshalTOML reads a size in config.toml: a string with a unit, or, as
// files written before units were required have it, a plain integer or a
// string of digits, both meaning bytes.
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

// floorMiB is s rounded down to a whole number of MiB.
func (s Size) floorMiB() Size { return s / MiB * MiB }
