package ipsw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vivarium-vm/vivarium/vm"
)

// copyBufferSize is large so a fast local link costs few system calls.
const copyBufferSize = 1 << 20

// Downloader fetches restore images into a cache directory (the library's
// ipsw/ folder), resuming interrupted downloads. Its fields are the seams
// tests replace; NewDownloader fills them for real use.
type Downloader struct {
	Client *http.Client
	Dir    string
	Now    func() time.Time
	// FreeSpace reports the bytes available on dir's file system.
	FreeSpace func(dir string) (uint64, error)
}

// NewDownloader returns a Downloader writing into dir.
func NewDownloader(dir string) *Downloader {
	return &Downloader{Client: &http.Client{}, Dir: dir, Now: time.Now, FreeSpace: FreeSpace}
}

// CachePath is where Fetch puts rawURL's file, whether or not it is there yet.
func (d *Downloader) CachePath(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("restore image URL %q: %w", redactURL(rawURL), err)
	}
	name, err := fileNameFromURL(u)
	if err != nil {
		return "", err
	}
	return filepath.Join(d.Dir, name), nil
}

// Fetch downloads rawURL into the cache under the URL's file name and returns
// the file's path. A file already complete in the cache is returned without
// touching the network. An interrupted download (cancel, lost connection,
// crash) leaves NAME.part, which the next Fetch resumes with an HTTP Range
// request; if the server ignores Range or the file changed, it starts over.
// The final name appears only once every byte is on disk and synced.
// progress, if not nil, is called at most ~10 times a second and at the end.
func (d *Downloader) Fetch(ctx context.Context, rawURL string, progress func(Progress)) (string, error) {
	final, err := d.CachePath(rawURL)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(d.Dir, 0o755); err != nil {
		return "", fmt.Errorf("restore image cache %s: %w", d.Dir, err)
	}
	now := d.Now
	if now == nil {
		now = time.Now
	}
	j := &job{
		d:        d,
		url:      rawURL,
		name:     filepath.Base(final),
		final:    final,
		part:     final + partSuffix,
		state:    final + partSuffix + stateSuffix,
		progress: newReporter(now, progress),
	}
	size, ok, err := j.cached()
	if err != nil {
		return "", err
	}
	if ok {
		j.progress.finish(size, size)
		return final, nil
	}
	return j.download(ctx)
}

// job is one Fetch of one file.
type job struct {
	d                  *Downloader
	url                string
	name               string
	final, part, state string
	progress           *reporter
	partSize           int64 // bytes in the .part file before this attempt
}

// cached reports whether the final file is already there. A record whose size
// disagrees with the file means the file was damaged: it is removed so the
// download starts again. A file without a record (placed by a crash between
// the two renames, or by hand) is trusted: only a complete download or the
// user puts a file under that name.
func (j *job) cached() (int64, bool, error) {
	info, err := os.Stat(j.final)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("restore image cache: %w", err)
	}
	if !info.Mode().IsRegular() {
		return 0, false, fmt.Errorf("restore image cache: %s is not a file; move it away and try again", j.final)
	}
	record, err := readState(j.final + stateSuffix)
	if err == nil && record.Total >= 0 && record.Total != info.Size() {
		for _, p := range []string{j.final, j.final + stateSuffix} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return 0, false, fmt.Errorf("restore image cache: removing damaged %s: %w", p, err)
			}
		}
		return 0, false, nil
	}
	return info.Size(), true, nil
}

// resumePoint returns the recorded state and the offset to resume from, or
// offset 0 when there is nothing that can be resumed safely.
func (j *job) resumePoint() (partState, int64) {
	info, err := os.Stat(j.part)
	if err != nil || !info.Mode().IsRegular() {
		return partState{}, 0
	}
	j.partSize = info.Size()
	st, err := readState(j.state)
	if err != nil || st.validator() == "" || st.Total <= 0 || info.Size() > st.Total || info.Size() == 0 {
		return partState{}, 0
	}
	return st, info.Size()
}

func (j *job) download(ctx context.Context) (string, error) {
	st, offset := j.resumePoint()
	// At most two requests: a resume, and a fresh start if the resume can't be
	// used (a server that answers 200 to a Range request needs no second one).
	for attempt := 0; attempt < 2; attempt++ {
		resp, err := j.get(ctx, st, offset)
		if err != nil {
			return "", err
		}
		switch resp.StatusCode {
		case http.StatusOK:
			st, offset = stateFromResponse(resp, j.url, resp.ContentLength), 0
		case http.StatusPartialContent:
			start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
			if ok && offset == 0 && start == 0 {
				st = stateFromResponse(resp, j.url, total)
			} else if !ok || start != offset || total != st.Total || !st.sameFile(resp) {
				resp.Body.Close()
				st, offset = partState{}, 0
				continue
			}
		case http.StatusRequestedRangeNotSatisfiable:
			resp.Body.Close()
			// The .part already holds the whole file (the process stopped
			// between the last byte and the rename): finish it.
			if _, total, ok := parseContentRange(resp.Header.Get("Content-Range")); ok && offset > 0 && total == offset && total == st.Total {
				return j.finish(offset, st)
			}
			st, offset = partState{}, 0
			continue
		default:
			resp.Body.Close()
			return "", &HTTPError{StatusCode: resp.StatusCode, Status: resp.Status, URL: redactURL(j.url), Hint: httpHint(resp.StatusCode)}
		}
		return j.receive(ctx, resp, st, offset)
	}
	return "", fmt.Errorf("downloading %s from %s: the server does not resume it consistently; delete %s and try again",
		j.name, redactURL(j.url), j.part)
}

func (j *job) get(ctx context.Context, st partState, offset int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return nil, fmt.Errorf("restore image URL %q: %w", redactURL(j.url), err)
	}
	// Ask for the bytes as stored: a transparently compressed response would
	// not match Content-Length or Range offsets.
	req.Header.Set("Accept-Encoding", "identity")
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		req.Header.Set("If-Range", st.validator())
	}
	client := j.d.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, j.stopped(offset, st.Total, ctx.Err())
		}
		resume := ""
		if offset > 0 {
			resume = " — the download resumes where it stopped"
		}
		return nil, fmt.Errorf("downloading %s from %s: %w; check the network connection and run the same command again%s",
			j.name, redactURL(j.url), err, resume)
	}
	if enc := resp.Header.Get("Content-Encoding"); enc != "" && enc != "identity" {
		resp.Body.Close()
		return nil, fmt.Errorf("downloading %s from %s: the server sent it %s-encoded although asked not to; download it in a browser and pass the file's path",
			j.name, redactURL(j.url), enc)
	}
	return resp, nil
}

// receive writes resp's body into the .part file from offset, then finishes.
func (j *job) receive(ctx context.Context, resp *http.Response, st partState, offset int64) (string, error) {
	defer resp.Body.Close()
	if err := j.checkSpace(st.Total, offset); err != nil {
		return "", err
	}
	f, err := j.openPart(st, offset)
	if err != nil {
		return "", err
	}
	done := offset
	j.progress.begin(done, st.Total)
	buf := make([]byte, copyBufferSize)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := f.Write(buf[:n]); werr != nil {
				f.Close()
				return "", fmt.Errorf("writing %s: %w; if the disk is full, free up space and run the same command again to resume", j.part, werr)
			}
			done += int64(n)
			j.progress.update(done, st.Total)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			f.Close()
			if ctx.Err() != nil {
				return "", j.stopped(done, st.Total, ctx.Err())
			}
			return "", j.incomplete(done, st.Total, rerr)
		}
	}
	if st.Total >= 0 && done != st.Total {
		f.Close()
		return "", j.incomplete(done, st.Total, io.ErrUnexpectedEOF)
	}
	if st.Total < 0 {
		st.Total = done // a clean end of an unsized (chunked) body is the whole file
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", j.part, err)
	}
	return j.finish(done, st)
}

// openPart opens the .part file for writing at offset. Starting over, the old
// record goes first, then the bytes, then the new record: a crash at any
// point never pairs a record with bytes of another version of the file.
func (j *job) openPart(st partState, offset int64) (*os.File, error) {
	if offset > 0 {
		f, err := os.OpenFile(j.part, os.O_WRONLY, 0)
		if err == nil {
			if _, err = f.Seek(offset, io.SeekStart); err != nil {
				f.Close()
			}
		}
		if err != nil {
			return nil, fmt.Errorf("resuming %s: %w", j.part, err)
		}
		return f, nil
	}
	if err := os.Remove(j.state); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("starting %s: %w", j.part, err)
	}
	f, err := os.OpenFile(j.part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", j.part, err)
	}
	if err := writeState(j.state, st); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", j.part, err)
	}
	return f, nil
}

// checkSpace refuses a download the disk can't hold, before any byte is
// written. A .part file that is about to be discarded counts as free.
func (j *job) checkSpace(total, offset int64) error {
	if total < 0 || total <= offset {
		return nil
	}
	freeSpace := j.d.FreeSpace
	if freeSpace == nil {
		freeSpace = FreeSpace
	}
	free, err := freeSpace(j.d.Dir)
	if errors.Is(err, errFreeSpaceUnknown) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking free space for %s: %w", j.name, err)
	}
	if reclaimed := j.partSize - offset; reclaimed > 0 {
		free += uint64(reclaimed)
	}
	needed := uint64(total - offset)
	if free < needed {
		return &DiskSpaceError{File: j.name, Dir: j.d.Dir, Needed: needed, Free: free}
	}
	return nil
}

// finish syncs the complete .part, checks its size and renames it (and its
// record) to the final names.
func (j *job) finish(size int64, st partState) (string, error) {
	info, err := os.Stat(j.part)
	if err != nil {
		return "", fmt.Errorf("finishing %s: %w", j.part, err)
	}
	if info.Size() != size || (st.Total >= 0 && info.Size() != st.Total) {
		return "", fmt.Errorf("finishing %s: %w: it holds %d bytes, the server announced %d; run the same command again",
			j.part, ErrIncomplete, info.Size(), st.Total)
	}
	if err := vm.CommitFile(j.part, j.final); err != nil {
		return "", fmt.Errorf("finishing %w", err)
	}
	// The record is kept beside the final file; losing it only loses the
	// damaged-file check, so a failure here is not the download's failure.
	if err := vm.CommitFile(j.state, j.final+stateSuffix); err != nil {
		_ = writeState(j.final+stateSuffix, st)
		_ = os.Remove(j.state)
	}
	j.progress.finish(size, size)
	return j.final, nil
}

func (j *job) stopped(done, total int64, cause error) error {
	return fmt.Errorf("downloading %s: stopped at %s; the partial download is kept and resumes next time: %w",
		j.name, describeProgress(done, total), cause)
}

func (j *job) incomplete(done, total int64, cause error) error {
	return fmt.Errorf("downloading %s: %w: the connection ended at %s (%w); run the same command again to resume where it stopped",
		j.name, ErrIncomplete, describeProgress(done, total), cause)
}

func describeProgress(done, total int64) string {
	if total < 0 {
		return formatBytes(uint64(done))
	}
	return formatBytes(uint64(done)) + " of " + formatBytes(uint64(total))
}

// fileNameFromURL is the cache file name for a URL: the last element of its
// path, refused when it could escape the cache or collide with our records.
func fileNameFromURL(u *url.URL) (string, error) {
	name := path.Base(u.Path)
	bad := name == "" || name == "." || name == ".." || name == "/" ||
		strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\:`+"\x00") ||
		strings.HasSuffix(name, partSuffix) || strings.HasSuffix(name, stateSuffix)
	if bad {
		return "", fmt.Errorf("%w: %s does not end in a file name; copy the link to the .ipsw file itself",
			ErrUnsupportedSource, redactURL(u.String()))
	}
	return name, nil
}

// parseContentRange reads "bytes START-END/TOTAL" or "bytes */TOTAL"; total
// is -1 for "*". ok is false for anything else.
func parseContentRange(v string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, size, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	total = -1
	if size != "*" {
		n, err := strconv.ParseInt(size, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false
		}
		total = n
	}
	if rng == "*" {
		return -1, total, true
	}
	first, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	return start, total, true
}
