package vm

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameBytes is the longest VM name, in bytes of UTF-8.
const MaxNameBytes = 100

// ValidateName accepts any printable name a person would type, except what
// cannot be a directory name: "/", NUL, a leading dot, invisible or control
// characters, or more than MaxNameBytes bytes.
func ValidateName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidName, truncateForMessage(name), why)
	}
	switch {
	case name == "":
		return fmt.Errorf("%w: the name is empty; give the VM a name", ErrInvalidName)
	case !utf8.ValidString(name):
		return bad("it is not valid UTF-8 text")
	case len(name) > MaxNameBytes:
		return bad(fmt.Sprintf("it is %d bytes long; use at most %d", len(name), MaxNameBytes))
	case strings.HasPrefix(name, "."):
		return bad("it starts with a dot, which hides it; start with a letter or digit")
	case strings.TrimSpace(name) != name:
		return bad("it starts or ends with a space; remove it")
	}
	for _, r := range name {
		switch {
		case r == '/':
			return bad("it contains \"/\"; use another character such as \"-\"")
		case r == '\\':
			return bad("it contains \"\\\"; use another character such as \"-\"")
		case r != ' ' && !unicode.IsGraphic(r), unicode.Is(unicode.Cf, r):
			return bad(fmt.Sprintf("it contains the invisible or control character %U; remove it", r))
		}
	}
	return nil
}

func truncateForMessage(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
