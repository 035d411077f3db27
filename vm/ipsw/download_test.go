package ipsw_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/vm/ipsw"
	"github.com/vivarium-vm/vivarium/vm/ipsw/ipswtest"
)

const (
	imageName = "UniversalMac_15.0_24A335_Restore.ipsw"
	imageSize = 1 << 20
	cutAt     = 300 << 10 // where the fake server drops the connection
)

// fixture is a fake CDN serving one file, and a Downloader pointed at it.
type fixture struct {
	srv     *ipswtest.Server
	url     string
	content []byte
	dir     string
	d       *ipsw.Downloader
}

func newFixture(t *testing.T, etag string) *fixture {
	t.Helper()
	content := randomBytes(1, imageSize)
	srv := ipswtest.NewServer(content, etag)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	dir := filepath.Join(t.TempDir(), "ipsw")
	d := ipsw.NewDownloader(dir)
	d.Client = ts.Client()
	d.FreeSpace = func(string) (uint64, error) { return 1 << 40, nil }
	return &fixture{srv: srv, url: ts.URL + "/seed/" + imageName + "?token=secret", content: content, dir: dir, d: d}
}

func (f *fixture) final() string { return filepath.Join(f.dir, imageName) }
func (f *fixture) part() string  { return f.final() + ".part" }

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func assertSameContent(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the downloaded file: %v", err)
	}
	if sha256.Sum256(got) != sha256.Sum256(want) {
		t.Fatalf("%s: content differs from the server's file (%d bytes, want %d)", path, len(got), len(want))
	}
}

func assertMissing(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists (err %v); want no such file", path, err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return info.Size()
}

// assertOnlyFinal checks the cache holds the image and its record, nothing
// half-done.
func assertOnlyFinal(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{imageName, imageName + ".json"}
	if !slices.Equal(names, want) {
		t.Fatalf("cache holds %v, want %v", names, want)
	}
}

func TestFetchAfterInterruption(t *testing.T) {
	changed := randomBytes(2, imageSize+12345)
	sameSize := randomBytes(3, imageSize)
	lastModified := time.Date(2025, 6, 9, 17, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	tests := []struct {
		name        string
		etag        string
		between     func(*ipswtest.Server) // what changes on the server before the retry
		wantIfRange string
		want        func(f *fixture) []byte
		requests    int // 2 unless said
	}{
		{
			name:        "resumes from where the connection broke, validated by ETag",
			etag:        `"v1"`,
			wantIfRange: `"v1"`,
			want:        func(f *fixture) []byte { return f.content },
		},
		{
			name:        "resumes validated by Last-Modified when the server sends no ETag",
			etag:        "",
			wantIfRange: lastModified,
			want:        func(f *fixture) []byte { return f.content },
		},
		{
			name:        "server ignoring Range: starts over and ends correct",
			etag:        `"v1"`,
			between:     func(s *ipswtest.Server) { s.SetIgnoreRange(true) },
			wantIfRange: `"v1"`,
			want:        func(f *fixture) []byte { return f.content },
		},
		{
			name:        "file changed on the server (new ETag): starts over with the new file",
			etag:        `"v1"`,
			between:     func(s *ipswtest.Server) { s.SetContent(changed, `"v2"`, time.Time{}) },
			wantIfRange: `"v1"`,
			want:        func(*fixture) []byte { return changed },
		},
		{
			name: "file changed to one of the same size, server ignoring If-Range: starts over",
			etag: `"v1"`,
			between: func(s *ipswtest.Server) {
				s.SetContent(sameSize, `"v2"`, time.Time{})
				s.SetIgnoreIfRange(true)
			},
			wantIfRange: `"v1"`,
			want:        func(*fixture) []byte { return sameSize },
			requests:    3, // the resume answered with parts of the wrong file, then a fresh start
		},
		{
			name: "file changed on the server (new Last-Modified): starts over with the new file",
			etag: "",
			between: func(s *ipswtest.Server) {
				s.SetContent(changed, "", time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC))
			},
			wantIfRange: lastModified,
			want:        func(*fixture) []byte { return changed },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.etag)
			f.srv.CutNextAfter(cutAt)
			if _, err := f.d.Fetch(context.Background(), f.url, nil); !errors.Is(err, ipsw.ErrIncomplete) {
				t.Fatalf("first Fetch: err = %v, want ErrIncomplete", err)
			}
			assertMissing(t, f.final())
			if got := fileSize(t, f.part()); got != cutAt {
				t.Fatalf("partial file holds %d bytes, want %d", got, cutAt)
			}
			if tt.between != nil {
				tt.between(f.srv)
			}

			path, err := f.d.Fetch(context.Background(), f.url, nil)
			if err != nil {
				t.Fatalf("second Fetch: %v", err)
			}
			if path != f.final() {
				t.Errorf("path = %s, want %s", path, f.final())
			}
			assertSameContent(t, path, tt.want(f))
			assertOnlyFinal(t, f.dir)

			reqs := f.srv.Requests()
			wantRequests := max(tt.requests, 2)
			if len(reqs) != wantRequests {
				t.Fatalf("server saw %d requests, want %d: %+v", len(reqs), wantRequests, reqs)
			}
			if reqs[0].Range != "" {
				t.Errorf("first request sent Range %q, want none", reqs[0].Range)
			}
			if want := "bytes=307200-"; reqs[1].Range != want || reqs[1].IfRange != tt.wantIfRange {
				t.Errorf("resume sent Range %q If-Range %q, want %q and %q", reqs[1].Range, reqs[1].IfRange, want, tt.wantIfRange)
			}
		})
	}
}

func TestFetchTruncatedResponseIsAnError(t *testing.T) {
	f := newFixture(t, `"v1"`)
	f.srv.CutNextAfter(cutAt)
	path, err := f.d.Fetch(context.Background(), f.url, nil)
	if !errors.Is(err, ipsw.ErrIncomplete) {
		t.Fatalf("err = %v, want ErrIncomplete", err)
	}
	if path != "" {
		t.Errorf("path = %q on failure, want empty", path)
	}
	for _, want := range []string{imageName, "307.2 kB of 1.0 MB", "run the same command again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q leaks the URL's token", err)
	}
	assertMissing(t, f.final())
	if _, err := os.Stat(f.part()); err != nil {
		t.Errorf("partial file should be kept for resuming: %v", err)
	}
}

func TestFetchCancelKeepsPartialFileAndReturnsPromptly(t *testing.T) {
	f := newFixture(t, `"v1"`)
	f.srv.SetPace(16<<10, 20*time.Millisecond) // ~1.3 s for the whole file
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelledAt time.Time
	_, err := f.d.Fetch(ctx, f.url, func(p ipsw.Progress) {
		if p.Done >= 64<<10 && cancelledAt.IsZero() {
			cancelledAt = time.Now()
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if cancelledAt.IsZero() {
		t.Fatal("progress never reached 64 KiB")
	}
	if took := time.Since(cancelledAt); took > time.Second {
		t.Errorf("Fetch returned %v after cancel, want well under a second", took)
	}
	if !strings.Contains(err.Error(), "resumes next time") {
		t.Errorf("error %q does not say the download resumes", err)
	}
	assertMissing(t, f.final())
	kept := fileSize(t, f.part())
	if kept == 0 || kept >= imageSize {
		t.Fatalf("partial file holds %d bytes, want some but not all", kept)
	}

	f.srv.SetPace(32<<10, 0)
	path, err := f.d.Fetch(context.Background(), f.url, nil)
	if err != nil {
		t.Fatalf("Fetch after cancel: %v", err)
	}
	assertSameContent(t, path, f.content)
	reqs := f.srv.Requests()
	if got, want := reqs[len(reqs)-1].Range, "bytes="+strconv.FormatInt(kept, 10)+"-"; got != want {
		t.Errorf("resume after cancel sent Range %q, want %q", got, want)
	}
}

// failingTransport fails every request: a Fetch that uses it must not need
// the network.
type failingTransport struct {
	mu    sync.Mutex
	calls int
}

func (ft *failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.calls++
	return nil, errors.New("network used although the file is cached")
}

func TestFetchReusesCachedFile(t *testing.T) {
	tests := []struct {
		name string
		// prepare leaves the cache in some state; it may download with f.d.
		prepare func(t *testing.T, f *fixture)
	}{
		{
			name: "completed download",
			prepare: func(t *testing.T, f *fixture) {
				if _, err := f.d.Fetch(context.Background(), f.url, nil); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "file put in the cache by hand, without a record",
			prepare: func(t *testing.T, f *fixture) {
				if err := os.MkdirAll(f.dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f.final(), f.content, 0o644); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, `"v1"`)
			tt.prepare(t, f)
			before := len(f.srv.Requests())
			offline := &failingTransport{}
			f.d.Client = &http.Client{Transport: offline}
			var last ipsw.Progress
			path, err := f.d.Fetch(context.Background(), f.url, func(p ipsw.Progress) { last = p })
			if err != nil {
				t.Fatalf("Fetch of a cached file: %v", err)
			}
			if offline.calls != 0 || len(f.srv.Requests()) != before {
				t.Errorf("Fetch of a cached file made %d requests", offline.calls+len(f.srv.Requests())-before)
			}
			assertSameContent(t, path, f.content)
			if last.Done != imageSize || last.Total != imageSize {
				t.Errorf("last progress = %+v, want the whole file done", last)
			}
		})
	}
}

func TestFetchReplacesDamagedCachedFile(t *testing.T) {
	f := newFixture(t, `"v1"`)
	if _, err := f.d.Fetch(context.Background(), f.url, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(f.final(), imageSize/2); err != nil {
		t.Fatal(err)
	}
	path, err := f.d.Fetch(context.Background(), f.url, nil)
	if err != nil {
		t.Fatalf("Fetch over a damaged file: %v", err)
	}
	assertSameContent(t, path, f.content)
	if got := len(f.srv.Requests()); got != 2 {
		t.Errorf("server saw %d requests, want 2 (the damaged file downloaded again)", got)
	}
}

func TestFetchFinishesPartialFileThatIsAlreadyComplete(t *testing.T) {
	// The process stopped after the last byte but before the rename: the
	// server answers the resume with 416, and the file is finished as is.
	f := newFixture(t, `"v1"`)
	f.srv.CutNextAfter(cutAt)
	if _, err := f.d.Fetch(context.Background(), f.url, nil); !errors.Is(err, ipsw.ErrIncomplete) {
		t.Fatalf("setup: %v", err)
	}
	if err := os.WriteFile(f.part(), f.content, 0o644); err != nil {
		t.Fatal(err)
	}
	path, err := f.d.Fetch(context.Background(), f.url, nil)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	assertSameContent(t, path, f.content)
	assertOnlyFinal(t, f.dir)
	reqs := f.srv.Requests()
	if got := reqs[len(reqs)-1].Range; got != "bytes=1048576-" {
		t.Errorf("resume sent Range %q, want bytes=1048576-", got)
	}
}

func TestFetchRefusesWhenDiskIsFull(t *testing.T) {
	tests := []struct {
		name      string
		interrupt bool // download part of the file first
		free      uint64
		wantMsg   string
		wantPart  int64 // bytes in the .part file afterwards (-1: no file)
	}{
		{
			name:     "before starting",
			free:     100_000,
			wantMsg:  "not enough disk space for " + imageName + ": needs 1.0 MB more, 100.0 kB free on DIR; free up space or choose another library location",
			wantPart: -1,
		},
		{
			name:      "before resuming",
			interrupt: true,
			free:      10_000,
			wantMsg:   "not enough disk space for " + imageName + ": needs 741.4 kB more, 10.0 kB free on DIR; free up space or choose another library location",
			wantPart:  cutAt,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, `"v1"`)
			if tt.interrupt {
				f.srv.CutNextAfter(cutAt)
				if _, err := f.d.Fetch(context.Background(), f.url, nil); !errors.Is(err, ipsw.ErrIncomplete) {
					t.Fatalf("setup: %v", err)
				}
			}
			f.d.FreeSpace = func(dir string) (uint64, error) {
				if dir != f.dir {
					t.Errorf("free space asked of %s, want the cache %s", dir, f.dir)
				}
				return tt.free, nil
			}
			_, err := f.d.Fetch(context.Background(), f.url, nil)
			if !errors.Is(err, ipsw.ErrNotEnoughSpace) {
				t.Fatalf("err = %v, want ErrNotEnoughSpace", err)
			}
			if want := strings.ReplaceAll(tt.wantMsg, "DIR", f.dir); err.Error() != want {
				t.Errorf("error says\n  %s\nwant\n  %s", err, want)
			}
			assertMissing(t, f.final())
			if tt.wantPart < 0 {
				assertMissing(t, f.part())
			} else if got := fileSize(t, f.part()); got != tt.wantPart {
				t.Errorf("partial file holds %d bytes, want %d untouched", got, tt.wantPart)
			}
		})
	}
}

func TestFetchHTTPErrorsSayWhatToDo(t *testing.T) {
	tests := []struct {
		status int
		want   []string
	}{
		{404, []string{"404 Not Found", "/seed/" + imageName, "may have expired", "copy a fresh link"}},
		{403, []string{"403 Forbidden", "copy a fresh link"}},
		{401, []string{"401 Unauthorized", "signed in to your Apple developer account"}},
		{503, []string{"503 Service Unavailable", "try again later"}},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			f := newFixture(t, `"v1"`)
			f.srv.SetStatus(tt.status)
			_, err := f.d.Fetch(context.Background(), f.url, nil)
			var herr *ipsw.HTTPError
			if !errors.As(err, &herr) || herr.StatusCode != tt.status {
				t.Fatalf("err = %v, want an HTTPError with status %d", err, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q leaks the URL's token", err)
			}
			assertMissing(t, f.final())
			assertMissing(t, f.part())
		})
	}
}

func TestFetchRefusesURLWithoutFileName(t *testing.T) {
	for _, u := range []string{"https://example.com/", "https://example.com", "https://example.com/dir/.."} {
		t.Run(u, func(t *testing.T) {
			d := ipsw.NewDownloader(t.TempDir())
			d.Client = &http.Client{Transport: &failingTransport{}}
			if _, err := d.Fetch(context.Background(), u, nil); !errors.Is(err, ipsw.ErrUnsupportedSource) {
				t.Fatalf("err = %v, want ErrUnsupportedSource", err)
			}
		})
	}
}

func TestFetchProgressIsThrottledAndEndsComplete(t *testing.T) {
	f := newFixture(t, `"v1"`)
	f.srv.SetPace(4<<10, time.Millisecond) // many small reads: many chances to report
	// A clock that moves 7 ms each time it is read.
	var mu sync.Mutex
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	start := clock
	f.d.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(7 * time.Millisecond)
		return clock
	}
	var reports []ipsw.Progress
	if _, err := f.d.Fetch(context.Background(), f.url, func(p ipsw.Progress) { reports = append(reports, p) }); err != nil {
		t.Fatal(err)
	}
	elapsed := clock.Sub(start)
	if maxReports := int(elapsed/(100*time.Millisecond)) + 2; len(reports) > maxReports {
		t.Errorf("%d progress reports over %v of clock time, want at most %d (~10 a second)", len(reports), elapsed, maxReports)
	}
	if len(reports) < 3 {
		t.Fatalf("only %d progress reports", len(reports))
	}
	for i := 1; i < len(reports); i++ {
		if reports[i].Done < reports[i-1].Done {
			t.Fatalf("progress went backwards: %+v then %+v", reports[i-1], reports[i])
		}
	}
	last := reports[len(reports)-1]
	if last.Done != imageSize || last.Total != imageSize || last.ETA != 0 {
		t.Errorf("last report = %+v, want Done = Total = %d and no ETA", last, imageSize)
	}
	if last.BytesPerSecond <= 0 {
		t.Errorf("last report has no rate: %+v", last)
	}
	mid := reports[len(reports)/2]
	if mid.ETA <= 0 {
		t.Errorf("mid-download report has no ETA: %+v", mid)
	}
}

func TestFetchWritesNothingLookingCompleteWhenServerSendsTooLittle(t *testing.T) {
	// A server announcing a size and ending early on a fresh download must
	// never leave a file under the final name, even on a clean close.
	f := newFixture(t, `"v1"`)
	f.srv.CutNextAfter(imageSize - 1)
	if _, err := f.d.Fetch(context.Background(), f.url, nil); !errors.Is(err, ipsw.ErrIncomplete) {
		t.Fatalf("err = %v, want ErrIncomplete", err)
	}
	assertMissing(t, f.final())
	if got := fileSize(t, f.part()); got != imageSize-1 {
		t.Errorf("partial file holds %d bytes, want %d", got, imageSize-1)
	}
}

func TestFetchUnreachableServerSaysToCheckTheNetwork(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL + "/" + imageName
	ts.Close() // nothing listens there any more
	d := ipsw.NewDownloader(t.TempDir())
	_, err := d.Fetch(context.Background(), url, nil)
	if err == nil || !strings.Contains(err.Error(), "check the network connection") || !strings.Contains(err.Error(), imageName) {
		t.Fatalf("err = %v, want it to name the file and say to check the network", err)
	}
}
