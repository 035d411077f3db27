// Package xdisplay drives an X display on the host (Xvfb in tests) as a
// person would: windows found, resized and closed with xdotool, the
// clipboard used with xclip, screenshots with ImageMagick's import.
package xdisplay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// HostTools are the programs a Display drives the host's screen with, and
// the Debian packages that have them.
var HostTools = map[string]string{"Xvfb": "xvfb", "xdotool": "xdotool", "xclip": "xclip", "xwininfo": "x11-utils", "import": "imagemagick"}

// MissingHostTools names the HostTools not in PATH, with the apt-get
// command that installs them; "" when all are there.
func MissingHostTools() string {
	var progs, pkgs []string
	for prog, pkg := range HostTools {
		if _, err := exec.LookPath(prog); err != nil {
			progs, pkgs = append(progs, prog), append(pkgs, pkg)
		}
	}
	if len(progs) == 0 {
		return ""
	}
	return fmt.Sprintf("%s not in PATH: install them (Debian: apt-get install %s, or scripts/deps.sh test)",
		strings.Join(progs, ", "), strings.Join(pkgs, " "))
}

// Display is an X display on the host.
type Display struct {
	Name string // ":91"
}

// StartXvfb starts a virtual display of the given screen size (e.g.
// "1600x1000x24") on the first free number from 90, and returns it with a
// function that stops it.
func StartXvfb(screen string) (Display, func(), error) {
	for n := 90; n < 140; n++ {
		if inUse(n) {
			continue
		}
		socket := fmt.Sprintf("/tmp/.X11-unix/X%d", n)
		// A socket left by a killed server would look like a server up.
		os.Remove(socket)
		name := fmt.Sprintf(":%d", n)
		cmd := exec.Command("Xvfb", name, "-screen", "0", screen, "-nolisten", "tcp")
		if err := cmd.Start(); err != nil {
			return Display{}, nil, fmt.Errorf("starting Xvfb: %w", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		// SIGTERM: Xvfb then removes its socket and lock file.
		stop := func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			select {
			case <-exited: // another server took the number first
				deadline = time.Time{}
				continue
			default:
			}
			if _, err := os.Stat(socket); err == nil {
				return Display{Name: name}, stop, nil
			}
		}
		select {
		case <-exited:
			continue
		default:
		}
		stop()
		return Display{}, nil, fmt.Errorf("virtual display %s (Xvfb) did not come up in 10 s", name)
	}
	return Display{}, nil, errors.New("no free X display number from :90 to :139")
}

// inUse reports whether display number n has a live server: its lock file
// names a running process.
func inUse(n int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/tmp/.X%d-lock", n))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return true // unreadable: leave it alone
	}
	return syscall.Kill(pid, 0) == nil || errors.Is(syscall.Kill(pid, 0), syscall.EPERM)
}

// Env is the environment for a program that should use this display.
func (d Display) Env() []string { return append(os.Environ(), "DISPLAY="+d.Name) }

func (d Display) run(ctx context.Context, stdin string, prog string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = d.Env()
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	// xclip -i stays behind to serve the selection; its output pipes must
	// not keep Run waiting.
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		return out.String(), fmt.Errorf("%s %s: %w: %s", prog, strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// WaitWindow waits for a visible window whose title starts with title and
// returns its id.
func (d Display) WaitWindow(ctx context.Context, title string) (string, error) {
	for {
		out, _ := d.run(ctx, "", "xdotool", "search", "--onlyvisible", "--name", "^"+regexpQuote(title))
		if ids := strings.Fields(out); len(ids) > 0 {
			return ids[0], nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no window titled %q on %s: %w", title, d.Name, context.Cause(ctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Windows lists the visible windows whose title starts with title.
func (d Display) Windows(ctx context.Context, title string) []string {
	out, _ := d.run(ctx, "", "xdotool", "search", "--onlyvisible", "--name", "^"+regexpQuote(title))
	return strings.Fields(out)
}

// WindowPID is the process that owns the window (its _NET_WM_PID).
func (d Display) WindowPID(ctx context.Context, id string) (int, error) {
	out, err := d.run(ctx, "", "xdotool", "getwindowpid", id)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(out))
}

// WaitNewWindow waits for a visible window whose title starts with title
// and that belongs to a process other than oldPID (a window opened anew:
// the X server may give it the same id as the one it replaces), and
// returns its id.
func (d Display) WaitNewWindow(ctx context.Context, title string, oldPID int) (string, error) {
	for {
		for _, id := range d.Windows(ctx, title) {
			if pid, err := d.WindowPID(ctx, id); err == nil && pid != oldPID {
				return id, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no window titled %q on %s but process %d's: %w", title, d.Name, oldPID, context.Cause(ctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Above reports whether window a is above window b in the stacking order
// of the screen's top-level windows (ids as xdotool gives them).
func (d Display) Above(ctx context.Context, a, b string) (bool, error) {
	out, err := d.run(ctx, "", "xwininfo", "-root", "-children")
	if err != nil {
		return false, err
	}
	// xwininfo lists the root's children from the top of the stack down.
	pos := map[string]int{}
	for i, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "0x") {
			continue
		}
		if id, err := strconv.ParseUint(f[0][2:], 16, 32); err == nil {
			pos[strconv.FormatUint(id, 10)] = i
		}
	}
	pa, oka := pos[a]
	pb, okb := pos[b]
	if !oka || !okb {
		return false, fmt.Errorf("windows %s and %s are not both top-level windows of %s", a, b, d.Name)
	}
	return pa < pb, nil
}

// WaitNoWindow waits until no visible window's title starts with title.
func (d Display) WaitNoWindow(ctx context.Context, title string) error {
	for {
		out, _ := d.run(ctx, "", "xdotool", "search", "--onlyvisible", "--name", "^"+regexpQuote(title))
		if strings.TrimSpace(out) == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the window titled %q is still on %s: %w", title, d.Name, context.Cause(ctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// WindowSize is the window's size in pixels.
func (d Display) WindowSize(ctx context.Context, id string) (width, height int, err error) {
	_, _, width, height, err = d.WindowGeometry(ctx, id)
	return width, height, err
}

// WindowGeometry is where the window is on the screen and its size, in
// pixels.
func (d Display) WindowGeometry(ctx context.Context, id string) (x, y, width, height int, err error) {
	out, err := d.run(ctx, "", "xwininfo", "-id", id)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(strings.TrimSpace(v))
		switch k {
		case "Absolute upper-left X":
			x = n
		case "Absolute upper-left Y":
			y = n
		case "Width":
			width = n
		case "Height":
			height = n
		}
	}
	if width == 0 || height == 0 {
		return 0, 0, 0, 0, fmt.Errorf("xwininfo -id %s: no size in %q", id, out)
	}
	return x, y, width, height, nil
}

// WindowsOf lists the visible windows of the process pid (by their
// _NET_WM_PID), dialogs included.
func (d Display) WindowsOf(ctx context.Context, pid int) []string {
	out, _ := d.run(ctx, "", "xdotool", "search", "--onlyvisible", "--pid", strconv.Itoa(pid))
	return strings.Fields(out)
}

// Click moves the pointer to x, y on the screen and clicks the left
// button there, as a person does.
func (d Display) Click(ctx context.Context, x, y int) error {
	_, err := d.run(ctx, "", "xdotool", "mousemove", strconv.Itoa(x), strconv.Itoa(y), "click", "1")
	return err
}

// WaitWindowSize waits until the window is width×height (a window may map
// at a default size and then take its content's), and returns its size then
// or, when ctx ends first, the last one seen with the error.
func (d Display) WaitWindowSize(ctx context.Context, id string, width, height int) (int, int, error) {
	for {
		w, h, err := d.WindowSize(ctx, id)
		if err == nil && w == width && h == height {
			return w, h, nil
		}
		select {
		case <-ctx.Done():
			return w, h, fmt.Errorf("window %s is %dx%d, not %dx%d: %w", id, w, h, width, height, context.Cause(ctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ResizeWindow sets the window's size, as a person dragging its corner.
func (d Display) ResizeWindow(ctx context.Context, id string, width, height int) error {
	_, err := d.run(ctx, "", "xdotool", "windowsize", id, strconv.Itoa(width), strconv.Itoa(height))
	return err
}

// CloseWindow closes the window as its close button does: the window
// manager's WM_DELETE_WINDOW message, after which the program decides (a
// viewer quits).
func (d Display) CloseWindow(ctx context.Context, id string) error {
	w, err := parseWindowID(id)
	if err != nil {
		return err
	}
	return askToClose(ctx, d.Name, w)
}

// DropFiles drags files from a file manager onto the window and drops them
// at its middle (XDND, the protocol every X toolkit speaks). It returns
// once the window says it took them.
func (d Display) DropFiles(ctx context.Context, id string, paths ...string) error {
	w, err := parseWindowID(id)
	if err != nil {
		return err
	}
	x, y, width, height, err := d.WindowGeometry(ctx, id)
	if err != nil {
		return err
	}
	return dropFiles(ctx, d.Name, w, x+width/2, y+height/2, paths)
}

// SetClipboard copies text to the host's clipboard (CLIPBOARD selection).
func (d Display) SetClipboard(ctx context.Context, text string) error {
	_, err := d.run(ctx, text, "xclip", "-selection", "clipboard", "-i")
	return err
}

// Clipboard is the host clipboard's text; "" when nothing holds it.
func (d Display) Clipboard(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := d.run(ctx, "", "xclip", "-selection", "clipboard", "-o")
	if err != nil {
		return ""
	}
	return out
}

// WaitClipboard waits until the host clipboard holds want.
func (d Display) WaitClipboard(ctx context.Context, want string) error {
	for {
		got := d.Clipboard(ctx)
		if got == want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("host clipboard on %s still %q, want %q: %w", d.Name, got, want, context.Cause(ctx))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Screenshot saves the window (or the whole screen, for id "root") as a PNG.
func (d Display) Screenshot(ctx context.Context, id, path string) error {
	_, err := d.run(ctx, "", "import", "-window", id, path)
	return err
}

// regexpQuote escapes xdotool's (POSIX extended) regular expression
// characters in a literal title.
func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
