// Package control is the runner's control socket: a line-delimited JSON
// protocol on a unix socket (mode 0600 in a 0700 directory) through which
// the CLI and the GUI ask a running VM for its state and tell it to pause,
// resume, stop, suspend, take a screenshot or show its window again.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
)

// Operations.
const (
	OpStatus     = "status"
	OpPause      = "pause"
	OpResume     = "resume"
	OpStop       = "stop"
	OpSuspend    = "suspend"
	OpScreenshot = "screenshot"
	OpSubscribe  = "subscribe"
	OpShow       = "show"
)

// MaxMessage bounds one request line; longer ones are refused.
const MaxMessage = 64 << 10

// Request is one line from a client.
type Request struct {
	Op    string `json:"op"`
	Force bool   `json:"force,omitempty"` // stop: pull the plug instead of asking the guest
	Path  string `json:"path,omitempty"`  // screenshot: where to save the PNG
}

// Response is one line to a client. A subscription gets one per state
// change until the VM stops.
type Response struct {
	OK    bool     `json:"ok"`
	State vm.State `json:"state,omitempty"`
	Error string   `json:"error,omitempty"`
}

// Handler is what the runner does for each request.
type Handler interface {
	State() vm.State
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
	Stop(ctx context.Context, force bool) error
	Suspend(ctx context.Context) error
	Screenshot(ctx context.Context, path string) error
	// ShowWindow opens the VM's window again after it was closed.
	ShowWindow(ctx context.Context) error
	// Subscribe returns a channel of state changes and a function to stop
	// the subscription. The channel is closed when the VM stops.
	Subscribe() (<-chan vm.State, func())
}

// Listen creates the control socket at path with mode 0600, replacing a
// stale one. The directory must already be private (vm.Bundle.EnsureRunDir).
func Listen(path string) (net.Listener, error) {
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return ln, nil
}

// Serve answers connections on ln until ctx ends or ln is closed.
func Serve(ctx context.Context, ln net.Listener, h Handler) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveConn(ctx, conn, h)
		}()
	}
}

func serveConn(ctx context.Context, conn net.Conn, h Handler) {
	defer conn.Close()
	// When the runner shuts down, stop reading but let a request in hand
	// finish: a stop's answer is written after the VM is gone.
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	r := bufio.NewReaderSize(conn, 4096)
	enc := json.NewEncoder(conn)
	for {
		conn.SetReadDeadline(time.Now().Add(5 * time.Minute))
		if ctx.Err() != nil {
			return
		}
		line, err := readLine(r)
		if err != nil {
			if errors.Is(err, errTooLong) {
				enc.Encode(Response{Error: err.Error()})
			}
			return
		}
		var req Request
		if err := json.Unmarshal(line, &req); err != nil {
			enc.Encode(Response{Error: "not a request: send one JSON object per line, like {\"op\":\"status\"}"})
			continue
		}
		if req.Op == OpSubscribe {
			subscribe(conn, enc, h)
			return
		}
		enc.Encode(handle(ctx, h, req))
	}
}

var errTooLong = fmt.Errorf("request longer than %d bytes", MaxMessage)

func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			return nil, err
		}
		line = append(line, chunk...)
		if len(line) > MaxMessage {
			return nil, errTooLong
		}
		if !isPrefix {
			return line, nil
		}
	}
}

func handle(ctx context.Context, h Handler, req Request) Response {
	var err error
	switch req.Op {
	case OpStatus:
	case OpPause:
		err = h.Pause(ctx)
	case OpResume:
		err = h.Resume(ctx)
	case OpStop:
		err = h.Stop(ctx, req.Force)
	case OpSuspend:
		err = h.Suspend(ctx)
	case OpShow:
		err = h.ShowWindow(ctx)
	case OpScreenshot:
		if req.Path == "" {
			err = errors.New("screenshot needs a path to save the PNG to")
		} else {
			err = h.Screenshot(ctx, req.Path)
		}
	default:
		err = fmt.Errorf("unknown op %q; use status, pause, resume, stop, suspend, screenshot, show or subscribe", truncate(req.Op))
	}
	if err != nil {
		return Response{State: h.State(), Error: err.Error()}
	}
	return Response{OK: true, State: h.State()}
}

func subscribe(conn net.Conn, enc *json.Encoder, h Handler) {
	ch, cancel := h.Subscribe()
	defer cancel()
	conn.SetReadDeadline(time.Time{})
	closed := make(chan struct{})
	go func() { // notice the client going away
		io.Copy(io.Discard, conn)
		close(closed)
	}()
	if enc.Encode(Response{OK: true, State: h.State()}) != nil {
		return
	}
	for {
		select {
		case s, ok := <-ch:
			if !ok {
				enc.Encode(Response{OK: true, State: vm.StateStopped})
				return
			}
			if enc.Encode(Response{OK: true, State: s}) != nil {
				return
			}
		case <-closed:
			return
		}
	}
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Client talks to one VM's runner.
type Client struct{ path string }

// NewClient returns a client for the control socket at path.
func NewClient(path string) *Client { return &Client{path: path} }

// ErrNoRunner means nothing answers on the control socket.
var ErrNoRunner = errors.New("no runner answers for this VM")

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.path)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoRunner, err)
	}
	return conn, nil
}

// Do sends one request and returns the runner's answer. An answer with an
// error is returned as an error.
func (c *Client) Do(ctx context.Context, req Request) (vm.State, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return "", err
	}
	var resp Response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("the runner hung up: %w", err)
	}
	if resp.Error != "" {
		return resp.State, errors.New(resp.Error)
	}
	return resp.State, nil
}

// Status asks for the VM's state.
func (c *Client) Status(ctx context.Context) (vm.State, error) {
	return c.Do(ctx, Request{Op: OpStatus})
}

// Subscribe streams state changes, starting with the current state, until
// the VM stops (the channel then closes) or ctx ends.
func (c *Client) Subscribe(ctx context.Context) (<-chan vm.State, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	if err := json.NewEncoder(conn).Encode(Request{Op: OpSubscribe}); err != nil {
		conn.Close()
		return nil, err
	}
	ch := make(chan vm.State, 8)
	go func() {
		defer close(ch)
		defer conn.Close()
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		defer stop()
		dec := json.NewDecoder(conn)
		for {
			var resp Response
			if err := dec.Decode(&resp); err != nil {
				return
			}
			select {
			case ch <- resp.State:
			case <-ctx.Done():
				return
			}
			if resp.State == vm.StateStopped {
				return
			}
		}
	}()
	return ch, nil
}
