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
		if err := writeFileAtomic(filepath.Join(dir, src.File), buf.Bytes()); err != nil {
			return err
		}
		fmt.Printf("wrote %s (%d bytes)\n", filepath.Join(dir, src.File), buf.Len())
	}
	return nil
}

// writeFileAtomic replaces path with data so that a reader never sees half a
// PNG.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
