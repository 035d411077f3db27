// Command desktopguest-env builds the desktop guest when needed (as
// desktopguest.Ensure does) and prints it as shell assignments, for scripts:
//
//	eval "$(go run ./internal/desktopguest/cmd/desktopguest-env)"
//	vivarium create --kernel "$kernel" --initrd "$initrd" --cmdline "$cmdline" --import-disk "$image" ...
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/vivarium-vm/vivarium/internal/desktopguest"
)

func main() {
	g, err := desktopguest.Ensure(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "desktopguest-env:", err)
		os.Exit(1)
	}
	for _, kv := range [][2]string{
		{"kernel", g.Kernel}, {"initrd", g.Initrd}, {"image", g.Image},
		{"cmdline", g.Cmdline()}, {"report_tag", desktopguest.ReportTag},
	} {
		fmt.Printf("%s=%s\n", kv[0], shellQuote(kv[1]))
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
