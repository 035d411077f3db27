package xdisplay

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// testDisplay is a fresh Xvfb display for one test, and a deadline for it.
func testDisplay(t *testing.T) (Display, context.Context) {
	t.Helper()
	if why := MissingHostTools(); why != "" {
		t.Fatal(why)
	}
	d, stop, err := StartXvfb("800x600x24")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return d, ctx
}

func TestClipboardAndWindowOnXvfb(t *testing.T) {
	d, ctx := testDisplay(t)
	if got := d.Clipboard(ctx); got != "" {
		t.Errorf("a fresh display's clipboard holds %q", got)
	}
	const text = "copied, with \"quotes\" and\nlines"
	if err := d.SetClipboard(ctx, text); err != nil {
		t.Fatal(err)
	}
	if err := d.WaitClipboard(ctx, text); err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if _, err := d.WaitWindow(short, "no such (window)"); err == nil {
		t.Error("WaitWindow found a window that does not exist")
	}
}

func TestRegexpQuote(t *testing.T) {
	for in, want := range map[string]string{
		"desk":               "desk",
		"Debian Desktop (1)": `Debian Desktop \(1\)`,
		"a.b*c":              `a\.b\*c`,
	} {
		if got := regexpQuote(in); got != want {
			t.Errorf("regexpQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// Windows as a person sees them: the one opened last is in front, and the
// close button's message (not a forced destroy) makes the program quit.
// (WindowPID is checked by the desktop test: Xt's xmessage sets no
// _NET_WM_PID, GTK's viewer does.)
func TestStackingOwnerAndCloseButton(t *testing.T) {
	d, ctx := testDisplay(t)
	open := func(name string) (*exec.Cmd, string) {
		cmd := exec.Command("xmessage", "-name", name, "-geometry", "300x200+0+0", name)
		cmd.Env = d.Env()
		if err := cmd.Start(); err != nil {
			t.Fatalf("xmessage (x11-utils): %v", err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		id, err := d.WaitWindow(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return cmd, id
	}
	back, backID := open("first")
	_, frontID := open("second")
	if above, err := d.Above(ctx, frontID, backID); err != nil || !above {
		t.Errorf("the window opened last is not in front: %v %v", above, err)
	}
	if above, err := d.Above(ctx, backID, frontID); err != nil || above {
		t.Errorf("Above says both are in front of each other: %v %v", above, err)
	}
	if err := d.CloseWindow(ctx, backID); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- back.Wait() }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("xmessage still runs 10 s after its close button was pressed")
	}
	if err := d.WaitNoWindow(ctx, "first"); err != nil {
		t.Error(err)
	}
}
