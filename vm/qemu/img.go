package qemu

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/importer"
)

// ImageTool converts disk images with qemu-img; it is the importer's
// Converter.
type ImageTool struct {
	// QEMUPath is the QEMU program or folder from the preferences, as
	// Backend.QEMUPath; empty searches PATH and the usual install places
	// (an app started from the Dock has no shell PATH).
	QEMUPath string
}

var _ importer.Converter = ImageTool{}

func (t ImageTool) binary() (string, error) {
	path, err := findProgram(t.QEMUPath, "qemu-img")
	if err != nil {
		return "", fmt.Errorf("%w: %w", importer.ErrNeedsConverter, err)
	}
	return path, nil
}

// Convert writes src, an image of format, to the new raw image dst with
// `qemu-img convert`, which reads src only and leaves zeros as holes.
func (t ImageTool) Convert(ctx context.Context, src string, format importer.Format, dst string, progress vm.Progress) error {
	bin, err := t.binary()
	if err != nil {
		return err
	}
	// qemu-img would overwrite dst; a conversion only ever makes a new file.
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("%s already exists: %w", dst, fs.ErrExist)
	}
	var total int64
	if progress != nil {
		if total, err = t.Size(ctx, src, format); err != nil {
			total = 0
		}
	}
	cmd := exec.CommandContext(ctx, bin, "convert", "-p", "-f", string(format), "-O", "raw", "--", src, dst)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	readProgress(out, func(pct float64) {
		if progress != nil && total > 0 {
			progress(int64(pct/100*float64(total)), total)
		}
	})
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("qemu-img convert: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// readProgress reads qemu-img's "    (12.34/100%)\r" lines.
func readProgress(r io.Reader, report func(pct float64)) {
	sc := bufio.NewScanner(r)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	for sc.Scan() {
		s := strings.TrimSpace(sc.Text())
		s = strings.TrimPrefix(s, "(")
		if i := strings.Index(s, "/"); i > 0 {
			if pct, err := strconv.ParseFloat(s[:i], 64); err == nil {
				report(pct)
			}
		}
	}
}

// Size is the size of the disk src holds (`qemu-img info`).
func (t ImageTool) Size(ctx context.Context, src string, format importer.Format) (int64, error) {
	bin, err := t.binary()
	if err != nil {
		return 0, err
	}
	out, err := exec.CommandContext(ctx, bin, "info", "--output=json", "-f", string(format), "--", src).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return 0, fmt.Errorf("qemu-img info %s: %s", src, strings.TrimSpace(string(ee.Stderr)))
		}
		return 0, err
	}
	var info struct {
		VirtualSize int64 `json:"virtual-size"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return 0, fmt.Errorf("qemu-img info %s: %w", src, err)
	}
	return info.VirtualSize, nil
}

var _ importer.QCOW2Writer = ImageTool{}

// ToQCOW2 writes the raw image src as the new qcow2 file dst.
func (t ImageTool) ToQCOW2(ctx context.Context, src, dst string) error {
	bin, err := t.binary()
	if err != nil {
		return err
	}
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("%s already exists: %w", dst, fs.ErrExist)
	}
	out, err := exec.CommandContext(ctx, bin, "convert", "-f", "raw", "-O", "qcow2", "--", src, dst).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img convert to qcow2: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
