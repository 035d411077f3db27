// Package localefix gives the GUI toolkit a locale it can parse. fyne reads
// the locale while its packages initialise and prints an error for "C" or
// "POSIX" (the default in containers and over ssh) on every run, even of a
// CLI command. Importing this package from main sets LANG to en_US.UTF-8
// (and clears the plain LC_ALL/LC_MESSAGES that would override it) first.
//
// It runs first because Go initialises packages in import-path order among
// those whose imports are ready: this one needs only os and strings, and
// its path sorts before golang.org/x/text, which fyne's lang package needs.
package localefix

import (
	"os"
	"strings"
)

func init() {
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := os.Getenv(name)
		if v == "" {
			continue
		}
		if !plain(v) {
			return // the first one set is the one that counts, and it is fine
		}
		os.Unsetenv(name)
	}
	os.Setenv("LANG", "en_US.UTF-8")
}

func plain(v string) bool {
	v = strings.ToUpper(v)
	return v == "C" || v == "POSIX" || strings.HasPrefix(v, "C.")
}
