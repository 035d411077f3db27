// Package ipswtest has fakes for testing code that downloads and checks
// restore images: an HTTP file server that misbehaves on request, and a
// writer of small zip files shaped like restore images.
package ipswtest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server serves one file over HTTP like a CDN would (ETag, Last-Modified,
// Range, If-Range), and can be told to misbehave: ignore Range, cut the
// connection after some bytes, send slowly. It records every request.
// Use it as the handler of an httptest.Server.
type Server struct {
	mu           sync.Mutex
	content      []byte
	etag         string
	lastModified time.Time
	ignoreRange  bool
	ignoreIf     bool
	cutAfter     int64 // -1: never
	chunk        int
	chunkDelay   time.Duration
	status       int // non-zero: answer every request with this status
	requests     []Request
}

// Request is what the server saw of one request.
type Request struct {
	Method  string
	Range   string
	IfRange string
}

// NewServer serves content with the given ETag ("" sends none) and a fixed
// Last-Modified time.
func NewServer(content []byte, etag string) *Server {
	return &Server{
		content:      content,
		etag:         etag,
		lastModified: time.Date(2025, 6, 9, 17, 0, 0, 0, time.UTC),
		cutAfter:     -1,
		chunk:        32 << 10,
	}
}

// SetContent replaces the file, as when Apple republishes a URL. A zero
// lastModified keeps the current one.
func (s *Server) SetContent(content []byte, etag string, lastModified time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.content, s.etag = content, etag
	if !lastModified.IsZero() {
		s.lastModified = lastModified
	}
}

// SetIgnoreRange makes the server answer every GET with the whole file (200).
func (s *Server) SetIgnoreRange(ignore bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ignoreRange = ignore
}

// SetIgnoreIfRange makes the server honour Range even when If-Range names
// another version of the file, as some broken servers and caches do.
func (s *Server) SetIgnoreIfRange(ignore bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ignoreIf = ignore
}

// CutNextAfter makes the next response close its connection after n body
// bytes, with its Content-Length still announcing the full length.
func (s *Server) CutNextAfter(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cutAfter = n
}

// SetPace sends the body in chunks of size bytes with delay after each.
func (s *Server) SetPace(size int, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chunk, s.chunkDelay = size, delay
}

// SetStatus makes every request fail with code (0 restores normal service).
func (s *Server) SetStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = code
}

// Requests returns the requests seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Range: r.Header.Get("Range"), IfRange: r.Header.Get("If-Range")})
	content, etag, lastModified := s.content, s.etag, s.lastModified.Format(http.TimeFormat)
	ignoreRange, ignoreIf, status, chunk, delay := s.ignoreRange, s.ignoreIf, s.status, s.chunk, s.chunkDelay
	cut := s.cutAfter
	s.cutAfter = -1
	s.mu.Unlock()

	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	if etag != "" {
		h.Set("ETag", etag)
	}
	h.Set("Last-Modified", lastModified)
	h.Set("Content-Type", "application/octet-stream")

	start, code := int64(0), http.StatusOK
	if !ignoreRange {
		h.Set("Accept-Ranges", "bytes")
		if from, ok := parseOpenRange(r.Header.Get("Range")); ok && (ignoreIf || ifRangeHolds(r.Header.Get("If-Range"), etag, lastModified)) {
			if from >= int64(len(content)) {
				h.Set("Content-Range", fmt.Sprintf("bytes */%d", len(content)))
				http.Error(w, "range not satisfiable", http.StatusRequestedRangeNotSatisfiable)
				return
			}
			start, code = from, http.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(content)-1, len(content)))
		}
	}
	body := content[start:]
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return
	}
	flusher, _ := w.(http.Flusher)
	var sent int64
	for len(body) > 0 {
		n := min(chunk, len(body))
		if cut >= 0 && sent+int64(n) > cut {
			n = int(cut - sent)
		}
		if _, err := w.Write(body[:n]); err != nil {
			return
		}
		body, sent = body[n:], sent+int64(n)
		if flusher != nil {
			flusher.Flush()
		}
		if cut >= 0 && sent >= cut {
			// Drop the connection mid-body: the client sees fewer bytes
			// than Content-Length promised.
			panic(http.ErrAbortHandler)
		}
		if delay > 0 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(delay):
			}
		}
	}
}

// parseOpenRange reads "bytes=N-" (the only form a resuming client sends).
func parseOpenRange(v string) (int64, bool) {
	rest, ok := strings.CutPrefix(v, "bytes=")
	if !ok || !strings.HasSuffix(rest, "-") {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(rest, "-"), 10, 64)
	return n, err == nil && n >= 0
}

// ifRangeHolds applies RFC 9110's If-Range: the range is honoured only when
// the validator still matches the current file.
func ifRangeHolds(ifRange, etag, lastModified string) bool {
	if ifRange == "" {
		return true
	}
	if strings.HasPrefix(ifRange, `"`) || strings.HasPrefix(ifRange, "W/") {
		return etag != "" && ifRange == etag && !strings.HasPrefix(etag, "W/")
	}
	return ifRange == lastModified
}
