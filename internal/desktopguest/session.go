package desktopguest

import (
	"context"
	"fmt"
	"time"

	"github.com/vivarium-vm/vivarium/internal/xdisplay"
)

// Session is a running desktop guest as a person at the host sees it: its
// window on an X display, and (for the checks) its report share.
type Session struct {
	Display xdisplay.Display
	Window  string // the VM window's X id
	Report  Report
	// FrameW and FrameH are what the window adds around the guest's screen
	// (header bar, borders), from Frame.
	FrameW, FrameH int
}

// Frame waits until the guest's screen is width×height and learns the
// window's frame from the window's size. It fails when the window is not
// the screen plus a plausible frame: it did not open at that size.
func (s *Session) Frame(ctx context.Context, width, height int) error {
	if err := s.Report.WaitFor(ctx, ReportScreen, Screen(width, height)); err != nil {
		return err
	}
	w, h, err := s.Display.WindowSize(ctx, s.Window)
	if err != nil {
		return err
	}
	s.FrameW, s.FrameH = w-width, h-height
	if s.FrameW < 0 || s.FrameW > 40 || s.FrameH < 0 || s.FrameH > 120 {
		return fmt.Errorf("the window is %dx%d around a %dx%d screen: it did not open at the screen's size", w, h, width, height)
	}
	return nil
}

// Resize sets the window so that it shows a width×height screen, as a
// person dragging its corner, and returns how long the guest took to
// change its screen to that size.
func (s *Session) Resize(ctx context.Context, width, height int) (time.Duration, error) {
	began := time.Now()
	if err := s.Display.ResizeWindow(ctx, s.Window, width+s.FrameW, height+s.FrameH); err != nil {
		return 0, err
	}
	if err := s.Report.WaitFor(ctx, ReportScreen, Screen(width, height)); err != nil {
		return 0, fmt.Errorf("window set to show %dx%d: %w", width, height, err)
	}
	return time.Since(began), nil
}

// HostToGuest copies text on the host and returns how long it took to be
// on the guest's clipboard.
func (s *Session) HostToGuest(ctx context.Context, text string) (time.Duration, error) {
	began := time.Now()
	if err := s.Display.SetClipboard(ctx, text); err != nil {
		return 0, err
	}
	if err := s.Report.WaitFor(ctx, ReportClipboard, text); err != nil {
		return 0, fmt.Errorf("the guest's clipboard: %w", err)
	}
	return time.Since(began), nil
}

// GuestToHost copies text in the guest and returns how long it took to be
// on the host's clipboard.
func (s *Session) GuestToHost(ctx context.Context, text string) (time.Duration, error) {
	began := time.Now()
	if err := s.Report.SetClipboard(text); err != nil {
		return 0, err
	}
	if err := s.Display.WaitClipboard(ctx, text); err != nil {
		return 0, err
	}
	return time.Since(began), nil
}

// WaitClipboardLink waits until text copied in the guest reaches the host:
// the guest's SPICE agent has connected to the viewer. Under emulation that
// can be several seconds after the desktop is ready, and a text copied on
// either side before then is dropped (by any SPICE client, not only ours),
// so a check of the clipboard waits for the link first. Each try copies a
// fresh text in the guest.
func (s *Session) WaitClipboardLink(ctx context.Context) (time.Duration, error) {
	began := time.Now()
	for try := 1; ; try++ {
		text := fmt.Sprintf("clipboard link check %d %d", try, time.Now().UnixNano())
		if err := s.Report.SetClipboard(text); err != nil {
			return 0, err
		}
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.Display.WaitClipboard(tctx, text)
		cancel()
		if err == nil {
			return time.Since(began), nil
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("the guest's clipboard never reached the host (%d tries): %w", try, err)
		}
	}
}
