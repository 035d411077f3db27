// Command sign signs a built vivarium binary ad hoc with the
// virtualization entitlement, as bundle.Sign signs the .app: on macOS
// `make build` runs it right after go build (scripts/build.sh), because
// Apple lets only a binary with com.apple.security.virtualization start a
// VM, and the runners are that same binary.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/vivarium-vm/vivarium/bundle"
)

func main() {
	entitlements := flag.String("entitlements", "bundle/vivarium.entitlements", "entitlements to sign with")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: sign [-entitlements FILE] BINARY")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	binary := flag.Arg(0)
	if err := bundle.Sign(ctx, binary, *entitlements); err != nil {
		fmt.Fprintln(os.Stderr, "sign:", err)
		os.Exit(1)
	}
	fmt.Printf("signed %s ad hoc with %s\n", binary, *entitlements)
}
