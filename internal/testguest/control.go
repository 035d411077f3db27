package testguest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Control hands actions to a running guest, one at a time, and gets their
// results back, through an HTTP server on the host's 127.0.0.1 that the
// guest polls over QEMU's NAT network (where 10.0.2.2 is the host). The VM
// needs a NAT network and [Control.Param] on its kernel command line.
type Control struct {
	port    int
	mu      sync.Mutex
	queue   []string
	results chan Result
}

// StartControl serves a Control until the test ends.
func StartControl(t testing.TB) *Control {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("test guest control: %v", err)
	}
	c := &Control{port: ln.Addr().(*net.TCPAddr).Port, results: make(chan Result, 64)}
	mux := http.NewServeMux()
	mux.HandleFunc("/next", func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.queue) > 0 {
			io.WriteString(w, c.queue[0])
			c.queue = c.queue[1:]
		}
	})
	mux.HandleFunc("/result", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		for _, res := range ParseResults(string(body)) {
			select {
			case c.results <- res:
			default:
			}
		}
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return c
}

// Param is the kernel command line parameter that points the guest here.
func (c *Control) Param() string { return "vivarium.control=10.0.2.2:" + strconv.Itoa(c.port) }

// Do has the guest run action and returns its result. Results of earlier
// actions still arriving are skipped.
func (c *Control) Do(ctx context.Context, action string) (Result, error) {
	c.mu.Lock()
	c.queue = append(c.queue, action)
	c.mu.Unlock()
	for {
		select {
		case r := <-c.results:
			if r.Action == action {
				return r, nil
			}
		case <-ctx.Done():
			return Result{}, fmt.Errorf("test guest: no result for %s: %w", action, context.Cause(ctx))
		}
	}
}

// Uptime is what the uptime action reports: which boot, and how long ago.
type Uptime struct {
	BootID  string
	Seconds float64
}

// ParseUptime reads the detail of an uptime result.
func ParseUptime(detail string) (Uptime, error) {
	f := strings.Fields(detail)
	if len(f) != 2 {
		return Uptime{}, fmt.Errorf("uptime %q: want \"<boot id> <seconds>\"", detail)
	}
	s, err := strconv.ParseFloat(f[1], 64)
	if err != nil {
		return Uptime{}, fmt.Errorf("uptime %q: %w", detail, err)
	}
	return Uptime{BootID: f[0], Seconds: s}, nil
}
