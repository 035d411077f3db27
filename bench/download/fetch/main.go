// Command fetch downloads one URL with Vivarium's restore image downloader
// (vm/ipsw), for the download benchmark: fetch -dir DIR URL.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/vivarium-vm/vivarium/vm/ipsw"
)

func main() {
	dir := flag.String("dir", ".", "directory to download into")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: fetch -dir DIR URL")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	path, err := ipsw.NewDownloader(*dir).Fetch(ctx, flag.Arg(0), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fetch:", err)
		os.Exit(1)
	}
	fmt.Println(path)
}
