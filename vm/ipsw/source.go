package ipsw

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// SourceKind says where a restore image comes from.
type SourceKind int

const (
	// SourceLatest: the newest restore image Apple supports on this host,
	// asked of the Virtualization framework (macOS only).
	SourceLatest SourceKind = iota + 1
	// SourceURL: an https URL to download into the cache.
	SourceURL
	// SourceFile: a local file, used in place (never copied).
	SourceFile
)

func (k SourceKind) String() string {
	switch k {
	case SourceLatest:
		return "latest"
	case SourceURL:
		return "url"
	case SourceFile:
		return "file"
	}
	return fmt.Sprintf("SourceKind(%d)", int(k))
}

// Source is a resolved restore image source: URL is set for SourceURL, Path
// (absolute) for SourceFile.
type Source struct {
	Kind SourceKind
	URL  string
	Path string
}

// SourceLatestName is what a user types to ask for the latest image.
const SourceLatestName = "latest"

// Resolve decides what to do with a restore image source as a user typed it:
// "latest", an https:// URL, a file:// URL or a local path. Plain http:// and
// other schemes are refused with the reason; a local path must be a file.
func Resolve(src string) (Source, error) {
	src = strings.TrimSpace(src)
	if src == "" {
		return Source{}, fmt.Errorf("%w: no restore image given; pass \"latest\", an https:// URL or the path of a .ipsw file", ErrUnsupportedSource)
	}
	if strings.EqualFold(src, SourceLatestName) {
		return Source{Kind: SourceLatest}, nil
	}
	if scheme, _, ok := strings.Cut(src, "://"); ok && !strings.ContainsAny(scheme, `/\`) {
		return resolveURL(src, strings.ToLower(scheme))
	}
	return resolvePath(src)
}

func resolveURL(src, scheme string) (Source, error) {
	switch scheme {
	case "https":
		u, err := url.Parse(src)
		if err != nil {
			return Source{}, fmt.Errorf("%w: restore image URL %q: %w", ErrUnsupportedSource, redactURL(src), err)
		}
		if u.Host == "" {
			return Source{}, fmt.Errorf("%w: restore image URL %q has no host", ErrUnsupportedSource, redactURL(src))
		}
		if _, err := fileNameFromURL(u); err != nil {
			return Source{}, err
		}
		return Source{Kind: SourceURL, URL: u.String()}, nil
	case "http":
		return Source{}, fmt.Errorf("%w: %s: plain http:// can be altered on the way and Apple serves restore images over https — use the https:// link", ErrInsecureURL, redactURL(src))
	case "file":
		u, err := url.Parse(src)
		if err != nil || (u.Host != "" && u.Host != "localhost") {
			return Source{}, fmt.Errorf("%w: %q is not a local file URL; pass the file's path instead", ErrUnsupportedSource, src)
		}
		return resolvePath(filepath.FromSlash(u.Path))
	default:
		return Source{}, fmt.Errorf("%w: %q: Vivarium downloads restore images over https:// only; download it another way and pass the file's path", ErrUnsupportedSource, scheme+"://")
	}
}

func resolvePath(p string) (Source, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return Source{}, fmt.Errorf("restore image %s: %w", p, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return Source{}, fmt.Errorf("restore image %s: %w; pass \"latest\", an https:// URL or the path of a .ipsw file", p, err)
	}
	if info.IsDir() {
		return Source{}, fmt.Errorf("%w: %s is a folder; pass the path of the .ipsw file inside it", ErrUnsupportedSource, p)
	}
	return Source{Kind: SourceFile, Path: abs}, nil
}

// redactURL drops the query and fragment: Apple's signed links carry tokens.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if before, _, ok := strings.Cut(raw, "?"); ok {
			return before
		}
		return raw
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}
