package control

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
)

type fakeHandler struct {
	mu    sync.Mutex
	state vm.State
	subs  []chan vm.State
	shown int // ShowWindow calls
}

func (h *fakeHandler) State() vm.State {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state
}
func (h *fakeHandler) set(s vm.State) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state = s
	for _, c := range h.subs {
		c <- s
	}
}
func (h *fakeHandler) Pause(context.Context) error              { h.set(vm.StatePaused); return nil }
func (h *fakeHandler) Resume(context.Context) error             { h.set(vm.StateRunning); return nil }
func (h *fakeHandler) Stop(context.Context, bool) error         { h.set(vm.StateStopping); return nil }
func (h *fakeHandler) Suspend(context.Context) error            { return vm.ErrUnsupported }
func (h *fakeHandler) Screenshot(context.Context, string) error { return nil }
func (h *fakeHandler) ShowWindow(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.shown++
	return nil
}
func (h *fakeHandler) Subscribe() (<-chan vm.State, func()) {
	c := make(chan vm.State, 8)
	h.mu.Lock()
	h.subs = append(h.subs, c)
	h.mu.Unlock()
	return c, func() {}
}

func serve(t *testing.T) (string, *fakeHandler) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHandler{state: vm.StateRunning}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go Serve(ctx, ln, h)
	return path, h
}

func TestBadMessagesGetErrorsNotCrashes(t *testing.T) {
	path, _ := serve(t)
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	ask := func(line string) Response {
		t.Helper()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write([]byte(line + "\n")); err != nil {
			t.Fatalf("write %q: %v", line, err)
		}
		var resp Response
		if err := json.NewDecoder(strings.NewReader(mustLine(t, r))).Decode(&resp); err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for _, tt := range []struct{ send, says string }{
		{"garbage", "not a request"},
		{`{"op":`, "not a request"},
		{`{"op":"explode"}`, "unknown op"},
		{`{"op":"screenshot"}`, "needs a path"},
		{"\xff\xfe\x00", "not a request"},
	} {
		if resp := ask(tt.send); resp.OK || !strings.Contains(resp.Error, tt.says) {
			t.Errorf("%q answered %+v, want an error saying %q", tt.send, resp, tt.says)
		}
	}
	// The connection still works after the bad ones.
	if resp := ask(`{"op":"status"}`); !resp.OK || resp.State != vm.StateRunning {
		t.Errorf("status after garbage: %+v", resp)
	}
	// A huge line is refused and the connection closed.
	conn.Write([]byte(strings.Repeat("x", MaxMessage+10) + "\n"))
	if line := mustLine(t, r); !strings.Contains(line, "longer than") {
		t.Errorf("huge message answered %q", line)
	}
}

func mustLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return line
}

func TestClientAndSubscribe(t *testing.T) {
	path, h := serve(t)
	c := NewClient(path)
	ctx := context.Background()
	ch, err := c.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s := <-ch; s != vm.StateRunning {
		t.Errorf("first state %s", s)
	}
	if s, err := c.Do(ctx, Request{Op: OpPause}); err != nil || s != vm.StatePaused {
		t.Errorf("pause: %s %v", s, err)
	}
	if s := <-ch; s != vm.StatePaused {
		t.Errorf("subscriber saw %s", s)
	}
	if _, err := c.Do(ctx, Request{Op: OpSuspend}); err == nil {
		t.Error("unsupported suspend succeeded")
	}
	if _, err := c.Do(ctx, Request{Op: OpShow}); err != nil {
		t.Errorf("show: %v", err)
	}
	h.mu.Lock()
	if h.shown != 1 {
		t.Errorf("show reached the runner %d times, want once", h.shown)
	}
	h.mu.Unlock()
	h.set(vm.StateStopped)
	if _, ok := <-ch; ok {
		if _, ok := <-ch; ok {
			t.Error("subscription not closed after stopped")
		}
	}
	if _, err := NewClient(filepath.Join(t.TempDir(), "none.sock")).Status(ctx); err == nil {
		t.Error("status with no runner succeeded")
	}
}

func FuzzServeConn(f *testing.F) {
	for _, seed := range []string{`{"op":"status"}`, `{"op":"stop","force":true}`, "garbage\n\n", `{"op":"subscribe"}`, `{"op":"screenshot","path":"/etc/passwd"}`, "{\"op\":\"status\"}\n{\"op\":\"pause\"}\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		h := &fakeHandler{state: vm.StateRunning}
		done := make(chan struct{})
		go func() {
			serveConn(context.Background(), server, h)
			close(done)
		}()
		go io.Copy(io.Discard, client) // net.Pipe has no buffer: read the answers
		go func() {
			client.Write(data)
			client.Close()
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("serveConn did not finish")
		}
	})
}
