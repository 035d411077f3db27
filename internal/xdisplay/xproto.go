package xdisplay

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// xconn is a bare X11 protocol connection, for the little that xdotool
// cannot do (a close button's message, a drag and drop). The displays here
// are Xvfb servers started without -auth, so no authorization is offered.
type xconn struct {
	display string
	c       net.Conn
	root    uint32
	idBase  uint32
	idMask  uint32
	nextID  uint32
	events  [][]byte // events read while waiting for a reply
}

var le = binary.LittleEndian

// dialX connects to a local display (":N").
func dialX(ctx context.Context, display string) (*xconn, error) {
	num := strings.TrimPrefix(display, ":")
	if i := strings.IndexByte(num, '.'); i >= 0 {
		num = num[:i]
	}
	if _, err := strconv.Atoi(num); err != nil {
		return nil, fmt.Errorf("display %q: only local displays (:N) are supported", display)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", "/tmp/.X11-unix/X"+num)
	if err != nil {
		return nil, fmt.Errorf("connecting to the X display %s: %w", display, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	} else {
		c.SetDeadline(time.Now().Add(30 * time.Second))
	}
	x := &xconn{display: display, c: c}
	// Connection setup: little-endian, protocol 11.0, no authorization.
	setup := make([]byte, 12)
	setup[0] = 'l'
	le.PutUint16(setup[2:], 11)
	if _, err := c.Write(setup); err != nil {
		c.Close()
		return nil, err
	}
	head := make([]byte, 8)
	if _, err := io.ReadFull(c, head); err != nil {
		c.Close()
		return nil, fmt.Errorf("the X display %s: setup: %w", display, err)
	}
	rest := make([]byte, int(le.Uint16(head[6:]))*4)
	if _, err := io.ReadFull(c, rest); err != nil {
		c.Close()
		return nil, fmt.Errorf("the X display %s: setup: %w", display, err)
	}
	if head[0] != 1 {
		c.Close()
		return nil, fmt.Errorf("the X display %s refused the connection: %s", display, strings.TrimRight(string(rest[:min(int(head[1]), len(rest))]), "\x00"))
	}
	// The setup reply: ids to allocate from, then (after the vendor name
	// and the pixmap formats) the first screen, which begins with its root.
	x.idBase, x.idMask = le.Uint32(rest[4:]), le.Uint32(rest[8:])
	vendor := int(le.Uint16(rest[16:]))
	formats := int(rest[21])
	at := 32 + (vendor+3)/4*4 + formats*8
	if at+4 > len(rest) {
		c.Close()
		return nil, fmt.Errorf("the X display %s: a setup reply without a screen", display)
	}
	x.root = le.Uint32(rest[at:])
	return x, nil
}

func (x *xconn) Close() error { return x.c.Close() }

// newID allocates a resource id (a window) for this client.
func (x *xconn) newID() uint32 {
	x.nextID++
	return x.idBase | (x.nextID & x.idMask)
}

func (x *xconn) send(req []byte) error {
	_, err := x.c.Write(req)
	return err
}

// packet reads one reply, error or event.
func (x *xconn) packet() ([]byte, error) {
	p := make([]byte, 32)
	if _, err := io.ReadFull(x.c, p); err != nil {
		return nil, fmt.Errorf("the X display %s: %w", x.display, err)
	}
	if p[0] == 1 {
		if extra := int(le.Uint32(p[4:])) * 4; extra > 0 {
			more := make([]byte, extra)
			if _, err := io.ReadFull(x.c, more); err != nil {
				return nil, fmt.Errorf("the X display %s: %w", x.display, err)
			}
			p = append(p, more...)
		}
	}
	return p, nil
}

// reply waits for the reply to the last request, keeping events for later.
func (x *xconn) reply(what string) ([]byte, error) {
	for {
		p, err := x.packet()
		if err != nil {
			return nil, err
		}
		switch p[0] {
		case 0:
			return nil, fmt.Errorf("the X display %s: %s: X error %d", x.display, what, p[1])
		case 1:
			return p, nil
		default:
			x.events = append(x.events, p)
		}
	}
}

// event returns the next event (an error the server reports fails it).
func (x *xconn) event() ([]byte, error) {
	if len(x.events) > 0 {
		p := x.events[0]
		x.events = x.events[1:]
		return p, nil
	}
	for {
		p, err := x.packet()
		if err != nil {
			return nil, err
		}
		switch p[0] {
		case 0:
			return nil, fmt.Errorf("the X display %s: X error %d (request %d)", x.display, p[1], p[10])
		case 1: // a reply nobody waits for
		default:
			return p, nil
		}
	}
}

// sync makes a round trip, so every request before it has been handled.
func (x *xconn) sync() error {
	if err := x.send([]byte{43, 0, 1, 0}); err != nil { // GetInputFocus
		return err
	}
	_, err := x.reply("sync")
	return err
}

// intern returns the atom with this name, making it if need be.
func (x *xconn) intern(name string) (uint32, error) {
	pad := (4 - len(name)%4) % 4
	req := make([]byte, 8+len(name)+pad)
	req[0] = 16 // InternAtom, only-if-exists false
	le.PutUint16(req[2:], uint16(len(req)/4))
	le.PutUint16(req[4:], uint16(len(name)))
	copy(req[8:], name)
	if err := x.send(req); err != nil {
		return 0, err
	}
	p, err := x.reply("InternAtom " + name)
	if err != nil {
		return 0, err
	}
	return le.Uint32(p[8:]), nil
}

// sendEvent sends a 32-byte event to the client that made window dest
// (event mask 0).
func (x *xconn) sendEvent(dest uint32, ev []byte) error {
	req := make([]byte, 44)
	req[0] = 25 // SendEvent, propagate false
	le.PutUint16(req[2:], 11)
	le.PutUint32(req[4:], dest)
	copy(req[12:], ev)
	return x.send(req)
}

// clientMessage sends a format-32 ClientMessage of type typ about window
// to window's owner.
func (x *xconn) clientMessage(window, typ uint32, data [5]uint32) error {
	ev := make([]byte, 32)
	ev[0] = 33 // ClientMessage
	ev[1] = 32
	le.PutUint32(ev[4:], window)
	le.PutUint32(ev[8:], typ)
	for i, v := range data {
		le.PutUint32(ev[12+4*i:], v)
	}
	return x.sendEvent(window, ev)
}

// parseWindowID reads a window id as xdotool prints it (decimal).
func parseWindowID(id string) (uint32, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(id), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("not a window id: %q", id)
	}
	return uint32(n), nil
}
