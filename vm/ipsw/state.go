package ipsw

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/vivarium-vm/vivarium/vm"
)

// File names in the cache. While downloading NAME there is NAME.part (the
// bytes so far) and NAME.part.json (what they are a prefix of); when complete,
// NAME and NAME.json (the same record, kept to recognise a damaged file).
const (
	partSuffix  = ".part"
	stateSuffix = ".json"
)

// partState identifies the remote file a download is a copy of, so a resume
// can ask the server "only if it is still this file" (If-Range).
type partState struct {
	URL          string `json:"url"` // query removed: signed links carry tokens
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	Total        int64  `json:"total"` // -1 when the server did not say
}

// stateFromResponse records what a 200 or 206 response says about its file.
func stateFromResponse(resp *http.Response, rawURL string, total int64) partState {
	return partState{
		URL:          redactURL(rawURL),
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		Total:        total,
	}
}

// validator is what goes in If-Range: a strong ETag, else Last-Modified, else
// "" (then a partial file can't be trusted to match and is not resumed).
// Weak ETags ("W/...") are not allowed in If-Range.
func (s partState) validator() string {
	if s.ETag != "" && !strings.HasPrefix(s.ETag, "W/") {
		return s.ETag
	}
	return s.LastModified
}

// sameFile reports whether a 206 response is a part of the file s records:
// any validator both sides have must agree. (A server that honours If-Range
// answers 200 when the file changed; this guards against those that don't.)
func (s partState) sameFile(resp *http.Response) bool {
	if etag := resp.Header.Get("ETag"); etag != "" && s.ETag != "" && etag != s.ETag {
		return false
	}
	if lm := resp.Header.Get("Last-Modified"); lm != "" && s.LastModified != "" && lm != s.LastModified {
		return false
	}
	return true
}

func readState(path string) (partState, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return partState{}, err
	}
	var s partState
	if err := json.Unmarshal(data, &s); err != nil {
		return partState{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// writeState writes the record next to its file atomically, so a crash
// leaves the old record or the new one, never half of one.
func writeState(path string, s partState) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return vm.WriteFileAtomic(path, append(data, '\n'), 0o644)
}
