// Command genicon draws Vivarium's icons and writes them as the PNGs that
// package assets embeds. Run it through `go generate ./assets` (or
// `make icon`) after changing a drawing, and commit the PNGs.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"

	"github.com/vivarium-vm/vivarium/assets"
	"github.com/vivarium-vm/vivarium/vm"
)

func main() {
	dir := flag.String("dir", "assets", "directory of package assets, where the PNGs go")
	flag.Parse()
	if err := generate(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "genicon:", err)
		os.Exit(1)
	}
}

func generate(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "assets.go")); err != nil {
		return fmt.Errorf("%s is not the assets package directory (run from the repository root, or pass -dir): %w", dir, err)
	}
	encoder := png.Encoder{CompressionLevel: png.BestCompression}
	for _, src := range assets.Sources() {
		var buf bytes.Buffer
		if err := encoder.Encode(&buf, src.Draw()); err != nil {
			return fmt.Errorf("encode %s: %w", src.File, err)
		}
		if err := vm.WriteFileAtomic(filepath.Join(dir, src.File), buf.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Printf("wrote %s (%d bytes)\n", filepath.Join(dir, src.File), buf.Len())
	}
	return nil
}
