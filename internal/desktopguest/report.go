package desktopguest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
)

// reportPoll is how often WaitReport looks at the share; the guest's
// session itself looks every 0.2 s.
const reportPoll = 50 * time.Millisecond

// Report is the host side of the report share: the host folder shared with
// the guest as [ReportTag].
type Report struct{ Dir string }

// Read returns the report file name's content; a file the guest has not
// written yet reads as "" and no error.
func (r Report) Read(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(r.Dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("desktop guest report %s: %w", name, err)
	}
	return string(b), nil
}

// Wait polls the report file name until ok accepts its content, and returns
// it. When ctx ends first, the error says what the file held last.
func (r Report) Wait(ctx context.Context, name string, ok func(string) bool) (string, error) {
	tick := time.NewTicker(reportPoll)
	defer tick.Stop()
	for {
		v, err := r.Read(name)
		if err != nil {
			return "", err
		}
		if ok(v) {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("desktop guest report %s: still %q: %w", name, v, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// WaitFor waits until the report file name holds exactly want.
func (r Report) WaitFor(ctx context.Context, name, want string) error {
	_, err := r.Wait(ctx, name, func(v string) bool { return v == want })
	return err
}

// SetClipboard asks the guest's session to put text on the guest's
// clipboard (as if a person copied it there).
func (r Report) SetClipboard(text string) error {
	return vm.WriteFileAtomic(filepath.Join(r.Dir, SetClipboardFile), []byte(text), 0o644)
}

// ParseScreen reads a [ReportScreen] value, "WIDTHxHEIGHT".
func ParseScreen(s string) (width, height int, err error) {
	w, h, ok := strings.Cut(strings.TrimSpace(s), "x")
	if ok {
		if width, err = strconv.Atoi(w); err == nil {
			height, err = strconv.Atoi(h)
		}
	}
	if !ok || err != nil || width <= 0 || height <= 0 {
		return 0, 0, fmt.Errorf("desktop guest screen %q: want WIDTHxHEIGHT", s)
	}
	return width, height, nil
}

// Screen formats a size as the guest reports it.
func Screen(width, height int) string { return fmt.Sprintf("%dx%d", width, height) }
