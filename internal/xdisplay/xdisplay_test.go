package xdisplay

import (
	"context"
	"testing"
	"time"
)

func TestClipboardAndWindowOnXvfb(t *testing.T) {
	if why := MissingHostTools(); why != "" {
		t.Fatal(why)
	}
	d, stop, err := StartXvfb("800x600x24")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
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
