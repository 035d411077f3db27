// Command mkapp assembles Vivarium.app around a built vivarium binary and,
// on macOS, signs it. `make app` runs it through scripts/mkapp.sh.
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
	opts := bundle.Options{}
	flag.StringVar(&opts.Binary, "binary", "", "the vivarium binary to put in the .app (required)")
	flag.StringVar(&opts.OutDir, "out", "build", "directory to make Vivarium.app in")
	flag.StringVar(&opts.InfoPlist, "plist", "Info.plist", "the app's Info.plist")
	entitlements := flag.String("entitlements", "bundle/vivarium.entitlements", "entitlements to sign with")
	sign := flag.Bool("sign", false, "sign the .app ad hoc with codesign (macOS only)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "mkapp: unexpected arguments %q\n", flag.Args())
		flag.Usage()
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, opts, *entitlements, *sign); err != nil {
		fmt.Fprintln(os.Stderr, "mkapp:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, opts bundle.Options, entitlements string, sign bool) error {
	app, err := bundle.Assemble(opts)
	if err != nil {
		return err
	}
	fmt.Println("assembled", app)
	if !sign {
		fmt.Println("not signed (pass -sign, on macOS)")
		return nil
	}
	if err := bundle.Sign(ctx, app, entitlements); err != nil {
		return err
	}
	fmt.Println("signed ad hoc with", entitlements)
	return nil
}
