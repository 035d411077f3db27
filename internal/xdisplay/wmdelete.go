package xdisplay

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// askToClose sends the window the WM_DELETE_WINDOW message a window
// manager sends when a person clicks the close button: the program decides
// what closing means (a viewer quits). xdotool has no command for it (its
// windowclose destroys the window under the program, which then lives on
// without one), so this speaks the X11 protocol itself: connect, intern the
// two atoms, send one ClientMessage. The displays here are Xvfb servers
// started without -auth, so no authorization is offered.
func askToClose(ctx context.Context, display string, window uint32) error {
	num := strings.TrimPrefix(display, ":")
	if i := strings.IndexByte(num, '.'); i >= 0 {
		num = num[:i]
	}
	if _, err := strconv.Atoi(num); err != nil {
		return fmt.Errorf("display %q: only local displays (:N) are supported", display)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", "/tmp/.X11-unix/X"+num)
	if err != nil {
		return fmt.Errorf("connecting to X display %s: %w", display, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	} else {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
	}
	le := binary.LittleEndian
	// Connection setup: little-endian, protocol 11.0, no authorization.
	setup := make([]byte, 12)
	setup[0] = 'l'
	le.PutUint16(setup[2:], 11)
	if _, err := conn.Write(setup); err != nil {
		return err
	}
	head := make([]byte, 8)
	if _, err := io.ReadFull(conn, head); err != nil {
		return fmt.Errorf("the X display %s: setup: %w", display, err)
	}
	rest := make([]byte, int(le.Uint16(head[6:]))*4)
	if _, err := io.ReadFull(conn, rest); err != nil {
		return fmt.Errorf("the X display %s: setup: %w", display, err)
	}
	if head[0] != 1 {
		return fmt.Errorf("the X display %s refused the connection: %s", display, strings.TrimRight(string(rest[:min(int(head[1]), len(rest))]), "\x00"))
	}
	intern := func(name string) (uint32, error) {
		pad := (4 - len(name)%4) % 4
		req := make([]byte, 8+len(name)+pad)
		req[0] = 16 // InternAtom, only-if-exists false
		le.PutUint16(req[2:], uint16(len(req)/4))
		le.PutUint16(req[4:], uint16(len(name)))
		copy(req[8:], name)
		if _, err := conn.Write(req); err != nil {
			return 0, err
		}
		reply := make([]byte, 32)
		if _, err := io.ReadFull(conn, reply); err != nil {
			return 0, err
		}
		if reply[0] != 1 {
			return 0, fmt.Errorf("the X display %s: InternAtom %s failed (error %d)", display, name, reply[1])
		}
		return le.Uint32(reply[8:]), nil
	}
	protocols, err := intern("WM_PROTOCOLS")
	if err != nil {
		return err
	}
	deleteWindow, err := intern("WM_DELETE_WINDOW")
	if err != nil {
		return err
	}
	// SendEvent of a ClientMessage (format 32) to the window itself.
	req := make([]byte, 44)
	req[0] = 25 // SendEvent, propagate false
	le.PutUint16(req[2:], 11)
	le.PutUint32(req[4:], window)
	// event mask 0: the event goes to the window's owner
	ev := req[12:]
	ev[0] = 33 // ClientMessage
	ev[1] = 32 // format
	le.PutUint32(ev[4:], window)
	le.PutUint32(ev[8:], protocols)
	le.PutUint32(ev[12:], deleteWindow)
	// ev[16:20] is the time: CurrentTime (0)
	if _, err := conn.Write(req); err != nil {
		return err
	}
	// A round trip (GetInputFocus) makes sure the server took the request,
	// and reports an error it caused (a window that is gone).
	sync := []byte{43, 0, 1, 0}
	if _, err := conn.Write(sync); err != nil {
		return err
	}
	reply := make([]byte, 32)
	if _, err := io.ReadFull(conn, reply); err != nil {
		return err
	}
	if reply[0] == 0 {
		return fmt.Errorf("the X display %s: closing window %d: X error %d", display, window, reply[1])
	}
	return nil
}

// parseWindowID reads a window id as xdotool prints it (decimal).
func parseWindowID(id string) (uint32, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(id), 10, 32)
	if err != nil {
		return 0, errors.New("not a window id: " + id)
	}
	return uint32(n), nil
}
