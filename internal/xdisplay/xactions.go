package xdisplay

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// askToClose sends the window the WM_DELETE_WINDOW message a window
// manager sends when a person clicks the close button: the program decides
// what closing means (a viewer quits). xdotool has no command for it (its
// windowclose destroys the window under the program, which then lives on
// without one).
func askToClose(ctx context.Context, display string, window uint32) error {
	x, err := dialX(ctx, display)
	if err != nil {
		return err
	}
	defer x.Close()
	protocols, err := x.intern("WM_PROTOCOLS")
	if err != nil {
		return err
	}
	deleteWindow, err := x.intern("WM_DELETE_WINDOW")
	if err != nil {
		return err
	}
	if err := x.clientMessage(window, protocols, [5]uint32{deleteWindow}); err != nil {
		return err
	}
	return x.sync()
}

// dropFiles drags files onto window and drops them at x, y (screen
// pixels), as a file manager does: the XDND protocol (version 5) with
// text/uri-list, this connection the drag source.
func dropFiles(ctx context.Context, display string, window uint32, px, py int, paths []string) error {
	x, err := dialX(ctx, display)
	if err != nil {
		return err
	}
	defer x.Close()
	atoms := map[string]uint32{}
	for _, name := range []string{"XdndAware", "XdndEnter", "XdndPosition", "XdndStatus", "XdndDrop", "XdndFinished", "XdndLeave", "XdndSelection", "XdndActionCopy", "text/uri-list"} {
		if atoms[name], err = x.intern(name); err != nil {
			return err
		}
	}
	// The source window: an invisible one, owner of the drag's selection.
	src := x.newID()
	req := make([]byte, 32)
	req[0] = 1 // CreateWindow, depth CopyFromParent
	le.PutUint16(req[2:], 8)
	le.PutUint32(req[4:], src)
	le.PutUint32(req[8:], x.root)
	le.PutUint16(req[16:], 1) // width
	le.PutUint16(req[18:], 1) // height
	le.PutUint16(req[22:], 2) // InputOnly
	if err := x.send(req); err != nil {
		return err
	}
	req = make([]byte, 16)
	req[0] = 22 // SetSelectionOwner, time CurrentTime
	le.PutUint16(req[2:], 4)
	le.PutUint32(req[4:], src)
	le.PutUint32(req[8:], atoms["XdndSelection"])
	if err := x.send(req); err != nil {
		return err
	}
	if err := x.sync(); err != nil {
		return fmt.Errorf("starting the drag: %w", err)
	}
	uriList := atoms["text/uri-list"]
	if err := x.clientMessage(window, atoms["XdndEnter"], [5]uint32{src, 5 << 24, uriList}); err != nil {
		return err
	}
	pos := uint32(px)<<16 | uint32(py)&0xffff
	if err := x.clientMessage(window, atoms["XdndPosition"], [5]uint32{src, 0, pos, 0, atoms["XdndActionCopy"]}); err != nil {
		return err
	}
	// The target says whether it takes the drop here.
	for {
		ev, err := x.event()
		if err != nil {
			return fmt.Errorf("waiting for the window to answer the drag: %w", err)
		}
		if ev[0]&0x7f == 33 && le.Uint32(ev[8:]) == atoms["XdndStatus"] {
			if le.Uint32(ev[16:])&1 == 0 {
				x.clientMessage(window, atoms["XdndLeave"], [5]uint32{src})
				return fmt.Errorf("window %d does not take files dropped at %d,%d", window, px, py)
			}
			break
		}
	}
	if err := x.clientMessage(window, atoms["XdndDrop"], [5]uint32{src}); err != nil {
		return err
	}
	var list strings.Builder
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		list.WriteString((&url.URL{Scheme: "file", Path: abs}).String() + "\r\n")
	}
	// The target asks for the files (a SelectionRequest) and says when it
	// is done with them (XdndFinished).
	for {
		ev, err := x.event()
		if err != nil {
			return fmt.Errorf("waiting for the window to take the drop: %w", err)
		}
		switch {
		case ev[0]&0x7f == 30: // SelectionRequest
			tm, requestor, selection, target, property := le.Uint32(ev[4:]), le.Uint32(ev[12:]), le.Uint32(ev[16:]), le.Uint32(ev[20:]), le.Uint32(ev[24:])
			if target != uriList || property == 0 {
				property = 0 // refused: only text/uri-list is offered
			} else if err := x.changeProperty(requestor, property, uriList, []byte(list.String())); err != nil {
				return err
			}
			notify := make([]byte, 32)
			notify[0] = 31 // SelectionNotify
			le.PutUint32(notify[4:], tm)
			le.PutUint32(notify[8:], requestor)
			le.PutUint32(notify[12:], selection)
			le.PutUint32(notify[16:], target)
			le.PutUint32(notify[20:], property)
			if err := x.sendEvent(requestor, notify); err != nil {
				return err
			}
		case ev[0]&0x7f == 33 && le.Uint32(ev[8:]) == atoms["XdndFinished"]:
			if le.Uint32(ev[16:])&1 == 0 {
				return fmt.Errorf("window %d refused the dropped files", window)
			}
			return nil
		}
	}
}

// changeProperty sets an 8-bit property of a window.
func (x *xconn) changeProperty(window, property, typ uint32, data []byte) error {
	pad := (4 - len(data)%4) % 4
	req := make([]byte, 24+len(data)+pad)
	req[0] = 18 // ChangeProperty, mode Replace
	le.PutUint16(req[2:], uint16(len(req)/4))
	le.PutUint32(req[4:], window)
	le.PutUint32(req[8:], property)
	le.PutUint32(req[12:], typ)
	req[16] = 8
	le.PutUint32(req[20:], uint32(len(data)))
	copy(req[24:], data)
	return x.send(req)
}
