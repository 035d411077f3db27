package oci

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/vivarium-vm/vivarium/vm"
)

// StoreDir is the content store's folder in the library root. Its name
// starts with a dot, so the library never lists it as a VM.
const StoreDir = ".oci-store"

// Folders inside the store.
const (
	storeChunks = "chunks" // disk chunks, decompressed and sparse, by their layer's digest
	storeBlobs  = "blobs"  // other layers as they were downloaded, by digest
	storeTmp    = "tmp"    // downloads in progress
	storeLock   = "lock"
)

// Store keeps what pulls downloaded, by digest, so an interrupted pull
// continues where it stopped and images sharing chunks share them here.
// Entries appear only once verified (written to tmp/, then renamed).
type Store struct{ Dir string }

// LibraryStore is the store of a library.
func LibraryStore(lib *vm.Library) Store { return Store{Dir: filepath.Join(lib.Root, StoreDir)} }

func (s Store) chunkPath(d digest.Digest) string {
	return filepath.Join(s.Dir, storeChunks, d.Algorithm().String(), d.Encoded())
}

func (s Store) blobPath(d digest.Digest) string {
	return filepath.Join(s.Dir, storeBlobs, d.Algorithm().String(), d.Encoded())
}

func has(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// create opens a new temporary file for an entry being downloaded.
func (s Store) create() (*os.File, error) {
	dir := filepath.Join(s.Dir, storeTmp)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("content store %s: %w", s.Dir, err)
	}
	return os.CreateTemp(dir, fmt.Sprintf("download-%d-", os.Getpid()))
}

// cleanTmp removes what downloads of processes that are gone (killed, or
// cut off by a crash) left in tmp/.
func (s Store) cleanTmp() {
	dir := filepath.Join(s.Dir, storeTmp)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "download-%d-", &pid); err != nil || pid <= 0 || !processGone(pid) {
			continue
		}
		os.Remove(filepath.Join(dir, e.Name()))
	}
}

// commit moves a verified temporary file to its place.
func commit(tmp *os.File, path string) error {
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func discard(tmp *os.File) {
	tmp.Close()
	os.Remove(tmp.Name())
}

// PruneResult says what Prune removed.
type PruneResult struct {
	Entries int   `json:"entries"`
	Bytes   int64 `json:"bytes"` // space freed on disk
}

// Prune empties the store: downloaded chunks and unfinished downloads.
// VMs never depend on it (their disks are their own files or clones), so
// nothing but the next pull's speed is lost. It waits for no one: a pull
// running at the same time holds the store and Prune says so.
func (s Store) Prune() (PruneResult, error) {
	var res PruneResult
	lock, err := s.lock(true)
	if err != nil {
		return res, err
	}
	defer lock.unlock()
	for _, sub := range []string{storeChunks, storeBlobs, storeTmp} {
		dir := filepath.Join(s.Dir, sub)
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if n, err := vm.Allocated(p); err == nil {
				res.Bytes += n
			}
			res.Entries++
			return nil
		})
		if err != nil {
			return res, err
		}
		if err := os.RemoveAll(dir); err != nil {
			return res, fmt.Errorf("content store %s: %w", s.Dir, err)
		}
	}
	return res, nil
}

// Usage is the space the store takes on disk.
func (s Store) Usage() (int64, error) {
	var total int64
	err := filepath.WalkDir(s.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(p, storeLock) {
			n, err := vm.Allocated(p)
			if err == nil {
				total += n
			}
		}
		return nil
	})
	return total, err
}

// verifier hashes what passes through it and counts it.
type verifier struct {
	h hash.Hash
	n int64
}

func newVerifier() *verifier { return &verifier{h: sha256.New()} }

func (v *verifier) Write(p []byte) (int, error) {
	v.h.Write(p)
	v.n += int64(len(p))
	return len(p), nil
}

func (v *verifier) digest() digest.Digest { return digest.NewDigest(digest.SHA256, v.h) }

// check compares what passed with the size and digest expected.
func (v *verifier) check(what string, size int64, d digest.Digest) error {
	if v.n != size {
		return fmt.Errorf("%s: %d bytes arrived where the manifest says %d; pull again", what, v.n, size)
	}
	if got := v.digest(); got != d {
		return fmt.Errorf("%s: its digest is %s, not %s as the manifest says; the download or the image is damaged, pull again", what, got, d)
	}
	return nil
}

var _ io.Writer = (*verifier)(nil)
