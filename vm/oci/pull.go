package oci

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/vivarium-vm/vivarium/vm"
)

// PullResult says what a pull did.
type PullResult struct {
	Info       *vm.Info `json:"vm"`
	Reference  string   `json:"reference"`
	Format     string   `json:"format"`     // "vivarium" or "tart"
	Chunks     int      `json:"chunks"`     // disk chunks in the image
	Downloaded int      `json:"downloaded"` // chunks fetched from the registry
	Reused     int      `json:"reused"`     // chunks already in the store (an earlier or interrupted pull)
	Zero       int      `json:"zero"`       // all-zero chunks: holes, nothing fetched
	Bytes      int64    `json:"bytes"`      // compressed bytes downloaded
	CloneMode  string   `json:"cloneMode"`  // how disks were built from the store: clone or copy
	Dropped    []string `json:"dropped,omitempty"`
}

// DefaultName is the VM name a pull of ref uses when none is given: the
// repository's last part (macos-sequoia-base for
// ghcr.io/cirruslabs/macos-sequoia-base:latest).
func DefaultName(ref string) (string, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return "", err
	}
	return path.Base(r.Repository), nil
}

// chunkRef is one disk chunk of an image.
type chunkRef struct {
	desc    ocispec.Descriptor
	file    string // disk file it belongs to
	offset  int64
	size    int64 // uncompressed
	content digest.Digest
	zero    bool
}

// Pull makes the VM name from the image ref. Chunks are downloaded in
// parallel into the library's content store, each verified; the VM is
// built in a temporary folder from the store and appears only when whole.
// A pull that stops half way keeps its verified chunks, so running it again
// fetches only the rest.
func Pull(ctx context.Context, lib *vm.Library, ref, name string, opts Options) (*PullResult, error) {
	if name == "" {
		var err error
		if name, err = DefaultName(ref); err != nil {
			return nil, err
		}
	}
	b, err := lib.Bundle(name)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(b.Dir); err == nil {
		return nil, fmt.Errorf("%q: %w; pull into another name (vivarium pull %s OTHER-NAME) or delete it first", name, vm.ErrExists, ref)
	}
	t, err := connect(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	store := LibraryStore(lib)
	hold, err := store.lock(false)
	if err != nil {
		return nil, err
	}
	defer hold.unlock()
	store.cleanTmp()
	p := &puller{t: t, opts: opts, store: store, zeros: map[int64]digest.Digest{}}
	res, err := p.pull(ctx, lib, name)
	if err != nil {
		return nil, t.explain(err)
	}
	return res, nil
}

type puller struct {
	t     *target
	opts  Options
	store Store

	mu    sync.Mutex
	zeros map[int64]digest.Digest // zeroDigest by size, for this pull

	fetched    atomic.Int64
	total      int64
	downloaded atomic.Int64
}

// image is a manifest sorted into what Vivarium needs.
type image struct {
	tartConfig *ocispec.Descriptor
	vivarium   *ocispec.Descriptor
	nvram      *ocispec.Descriptor
	files      []ocispec.Descriptor
	disks      []string // disk files, first is Tart's disk
	chunks     []chunkRef
	sizes      map[string]int64
}

func (p *puller) manifest(ctx context.Context) (*image, error) {
	desc, rc, err := p.t.repo.FetchReference(ctx, p.t.ref.Reference)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if desc.Size > 4<<20 {
		return nil, fmt.Errorf("%s: the manifest is %d bytes, too large for a VM image: %w", p.t.ref, desc.Size, ErrNotAVM)
	}
	data, err := io.ReadAll(io.LimitReader(rc, desc.Size+1))
	if err != nil {
		return nil, err
	}
	if digest.FromBytes(data) != desc.Digest {
		return nil, fmt.Errorf("%s: the manifest does not match its digest; pull again", p.t.ref)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil || (desc.MediaType != ocispec.MediaTypeImageManifest && desc.MediaType != "application/vnd.docker.distribution.manifest.v2+json") {
		return nil, fmt.Errorf("%s is a %s, not an image manifest: %w; pull a VM image (Tart's or Vivarium's)", p.t.ref, desc.MediaType, ErrNotAVM)
	}
	img := &image{sizes: map[string]int64{}}
	offsets := map[string]int64{}
	addChunk := func(l ocispec.Descriptor, file string) error {
		size, err := parseSize(l.Annotations, AnnotationUncompressedSize)
		if err != nil {
			return fmt.Errorf("%s: disk chunk %s: %w", p.t.ref, l.Digest, err)
		}
		content, err := digest.Parse(l.Annotations[AnnotationUncompressedDigest])
		if err != nil {
			return fmt.Errorf("%s: disk chunk %s lacks a valid %s annotation: %w", p.t.ref, l.Digest, AnnotationUncompressedDigest, ErrNotAVM)
		}
		if _, ok := offsets[file]; !ok {
			img.disks = append(img.disks, file)
		}
		img.chunks = append(img.chunks, chunkRef{desc: l, file: file, offset: offsets[file], size: size, content: content})
		offsets[file] += size
		img.sizes[file] = offsets[file]
		return nil
	}
	for _, l := range m.Layers {
		switch l.MediaType {
		case MediaTypeTartConfig:
			if img.tartConfig != nil {
				return nil, fmt.Errorf("%s has two Tart configs: %w", p.t.ref, ErrNotAVM)
			}
			img.tartConfig = &l
		case MediaTypeTartDisk:
			if err := addChunk(l, vm.DiskFileName(0)); err != nil {
				return nil, err
			}
		case MediaTypeTartDiskV1:
			return nil, fmt.Errorf("%s uses Tart's old disk format (disk.v1), which Tart itself no longer pulls: %w; ask its publisher to push it again with a current Tart", p.t.ref, ErrNotAVM)
		case MediaTypeTartNVRAM:
			img.nvram = &l
		case MediaTypeVivariumConfig:
			img.vivarium = &l
		case MediaTypeVivariumDisk, MediaTypeVivariumFile:
			file := l.Annotations[AnnotationFile]
			if !safeFileName(file, l.MediaType == MediaTypeVivariumFile) {
				return nil, fmt.Errorf("%s: a layer names the file %q, which a VM folder does not hold: %w", p.t.ref, file, ErrNotAVM)
			}
			if l.MediaType == MediaTypeVivariumFile {
				img.files = append(img.files, l)
			} else if err := addChunk(l, file); err != nil {
				return nil, err
			}
		}
	}
	if img.tartConfig == nil || len(img.chunks) == 0 {
		return nil, fmt.Errorf("%s has no Tart config or no disk layers: %w; pull an image made by Tart or Vivarium", p.t.ref, ErrNotAVM)
	}
	return img, nil
}

func (p *puller) pull(ctx context.Context, lib *vm.Library, name string) (*PullResult, error) {
	img, err := p.manifest(ctx)
	if err != nil {
		return nil, err
	}
	res := &PullResult{Reference: p.t.ref.String(), Chunks: len(img.chunks), Format: "tart"}
	var tc tartConfig
	if err := p.readJSON(ctx, *img.tartConfig, &tc); err != nil {
		return nil, err
	}
	var c *vm.Config
	if img.vivarium != nil {
		res.Format = "vivarium"
		var layer vivariumLayer
		if err := p.readJSON(ctx, *img.vivarium, &layer); err != nil {
			return nil, err
		}
		c = &vm.Config{}
		if err := json.Unmarshal([]byte(layer.Config), c); err != nil {
			return nil, fmt.Errorf("%s: Vivarium's config layer: %w", p.t.ref, err)
		}
		res.Dropped = restoreHostPaths(c, layer.HostPaths)
	} else if c, err = vivariumConfigFromTart(name, &tc, img.sizes[vm.DiskFileName(0)]); err != nil {
		return nil, err
	}
	c.Name = name
	if err := p.fitDisks(c, img); err != nil {
		return nil, err
	}
	res.Chunks = len(img.chunks)
	c.FillDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: the image's config: %w", p.t.ref, err)
	}

	// Download what the store lacks.
	var todo []chunkRef
	for i := range img.chunks {
		ch := &img.chunks[i]
		switch {
		case mayBeZero(*ch) && ch.content == p.zeroDigest(ch.size):
			ch.zero = true
			res.Zero++
		case has(p.store.chunkPath(ch.desc.Digest)):
			res.Reused++
		default:
			todo = append(todo, *ch)
			p.total += ch.desc.Size
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.opts.concurrency())
	for _, ch := range todo {
		g.Go(func() error { return p.fetchChunk(gctx, ch) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	res.Downloaded = int(p.downloaded.Load())
	res.Bytes = p.fetched.Load()
	if p.opts.Progress != nil {
		p.opts.Progress(p.total, p.total)
	}

	small := map[string]ocispec.Descriptor{}
	if img.nvram != nil {
		nv := vm.EFIVarsFile
		if c.OS == vm.OSMacOS {
			nv = vm.AuxFile
		}
		small[nv] = *img.nvram
	}
	for _, f := range img.files {
		small[f.Annotations[AnnotationFile]] = f
	}
	for _, d := range small {
		if err := p.fetchBlob(ctx, d); err != nil {
			return nil, err
		}
	}
	identity := map[string]string{}
	if c.OS == vm.OSMacOS {
		identity[vm.MachineIDFile], identity[vm.HardwareFile] = tc.ECID, tc.HardwareModel
	}
	var cloned atomic.Bool
	info, err := lib.Create(ctx, c, vm.CreateOptions{Prepare: func(ctx context.Context, tmp vm.Bundle, c *vm.Config) error {
		for file, d := range small {
			if err := copyFile(p.store.blobPath(d.Digest), tmp.DiskPath(file)); err != nil {
				return err
			}
		}
		for file, v := range identity {
			data, err := base64.StdEncoding.DecodeString(v)
			if err != nil || v == "" {
				return fmt.Errorf("%s: the Tart config's %s is not valid base64: %w", p.t.ref, file, ErrNotAVM)
			}
			if err := vm.WriteFileAtomic(tmp.DiskPath(file), data, 0o644); err != nil {
				return err
			}
		}
		return p.assemble(ctx, tmp, img, &cloned)
	}})
	if err != nil {
		return nil, err
	}
	res.Info = info
	res.CloneMode = "copy"
	if cloned.Load() {
		res.CloneMode = "clone"
	}
	return res, nil
}

// fitDisks makes the config's disks the image's: sizes from the chunks,
// and no disk the image lacks.
func (p *puller) fitDisks(c *vm.Config, img *image) error {
	if len(c.Disks) == 0 {
		c.Disks = []vm.Disk{{File: vm.DiskFileName(0)}}
	}
	for i := range c.Disks {
		d := &c.Disks[i]
		if i == 0 && d.File != vm.DiskFileName(0) {
			// Tart's disk layer is the config's first disk, whatever its name.
			img.sizes[d.File] = img.sizes[vm.DiskFileName(0)]
			for j := range img.chunks {
				if img.chunks[j].file == vm.DiskFileName(0) {
					img.chunks[j].file = d.File
				}
			}
		}
		size, ok := img.sizes[d.File]
		if !ok {
			return fmt.Errorf("%s: the config names disk %s but the image has no layers for it: %w", p.t.ref, d.File, ErrNotAVM)
		}
		d.Size = vm.Size(size)
	}
	// Only the config's disks are made (and downloaded).
	inConfig := map[string]bool{}
	for _, d := range c.Disks {
		inConfig[d.File] = true
	}
	img.disks = img.disks[:0]
	for _, d := range c.Disks {
		img.disks = append(img.disks, d.File)
	}
	chunks := img.chunks[:0]
	for _, ch := range img.chunks {
		if inConfig[ch.file] {
			chunks = append(chunks, ch)
		}
	}
	img.chunks = chunks
	return nil
}

func (p *puller) readJSON(ctx context.Context, d ocispec.Descriptor, v any) error {
	if d.Size > 16<<20 {
		return fmt.Errorf("%s: layer %s is %d bytes, too large for a config: %w", p.t.ref, d.MediaType, d.Size, ErrNotAVM)
	}
	rc, err := p.t.repo.Fetch(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	v2 := newVerifier()
	data, err := io.ReadAll(io.TeeReader(io.LimitReader(rc, d.Size+1), v2))
	if err != nil {
		return err
	}
	if err := v2.check(d.MediaType, d.Size, d.Digest); err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: layer %s is not valid JSON: %w", p.t.ref, d.MediaType, err)
	}
	return nil
}

// fetchBlob downloads a small layer into the store as it is.
func (p *puller) fetchBlob(ctx context.Context, d ocispec.Descriptor) error {
	if has(p.store.blobPath(d.Digest)) {
		return nil
	}
	rc, err := p.t.repo.Fetch(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	tmp, err := p.store.create()
	if err != nil {
		return err
	}
	v := newVerifier()
	if _, err := io.Copy(io.MultiWriter(tmp, v), io.LimitReader(rc, d.Size+1)); err != nil {
		discard(tmp)
		return err
	}
	if err := v.check(d.MediaType, d.Size, d.Digest); err != nil {
		discard(tmp)
		return err
	}
	if err := commit(tmp, p.store.blobPath(d.Digest)); err != nil {
		discard(tmp)
		return err
	}
	return nil
}

// countingReader reports bytes as they arrive.
type countingReader struct {
	r io.Reader
	p *puller
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		done := c.p.fetched.Add(int64(n))
		if c.p.opts.Progress != nil {
			c.p.opts.Progress(done, c.p.total)
		}
	}
	return n, err
}

// fetchChunk downloads one disk chunk, decompresses it into a sparse file
// in the store, checks its digest and size, and only then files it under
// its digest. (The digest covers the compressed bytes, which determine the
// content: a chunk filed under it is exactly what the registry holds.)
func (p *puller) fetchChunk(ctx context.Context, ch chunkRef) error {
	rc, err := p.t.repo.Fetch(ctx, ch.desc)
	if err != nil {
		return err
	}
	defer rc.Close()
	tmp, err := p.store.create()
	if err != nil {
		return err
	}
	compressed := newVerifier()
	// Read the network in large pieces (the digest sees them whole), and
	// write the disk in large pieces: runs of data between zeros.
	in := bufio.NewReaderSize(io.TeeReader(io.LimitReader(&countingReader{r: rc, p: p}, ch.desc.Size+1), compressed), 1<<20)
	w := &sparseWriter{f: tmp, buf: make([]byte, 0, 4<<20)}
	err = decodeLZ4(in, func(block []byte) error {
		if w.off+int64(len(block)) > ch.size {
			return fmt.Errorf("%w: it decodes to more than its %d bytes", ErrCorruptChunk, ch.size)
		}
		if err := w.write(block); err != nil {
			return vmNoSpace(err)
		}
		return ctx.Err()
	})
	if err == nil {
		err = vmNoSpace(w.flush())
	}
	off := w.off
	if err == nil {
		// The rest of the blob must be empty (a stream is one chunk).
		var rest [1]byte
		if n, _ := in.Read(rest[:]); n > 0 {
			err = fmt.Errorf("%w: bytes follow its end marker", ErrCorruptChunk)
		}
	}
	if err == nil && off != ch.size {
		err = fmt.Errorf("%w: it decodes to %d bytes, not %d as its annotation says", ErrCorruptChunk, off, ch.size)
	}
	if err == nil {
		err = tmp.Truncate(ch.size)
	}
	if err == nil {
		err = compressed.check("disk chunk "+ch.desc.Digest.String(), ch.desc.Size, ch.desc.Digest)
	}
	if err == nil {
		err = commit(tmp, p.store.chunkPath(ch.desc.Digest))
	}
	if err != nil {
		discard(tmp)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrCorruptChunk) {
			return fmt.Errorf("%s: disk chunk %s: %w", p.t.ref, ch.desc.Digest, err)
		}
		return err
	}
	p.downloaded.Add(1)
	return nil
}

// mayBeZero says whether a chunk is small enough, compressed, to be all
// zeros: LZ4 shrinks zeros more than a hundredfold, so a larger chunk
// cannot be, and its size is not worth hashing zeros for.
func mayBeZero(ch chunkRef) bool { return ch.desc.Size <= ch.size/64 }

// sparseWriter writes a stream into a file, leaving zero blocks as holes
// and gathering the rest into large writes.
type sparseWriter struct {
	f   *os.File
	off int64  // where the next block goes
	buf []byte // data not yet written, ending at off
}

func (w *sparseWriter) write(block []byte) error {
	if allZero(block) {
		if err := w.flush(); err != nil {
			return err
		}
		w.off += int64(len(block))
		return nil
	}
	if len(w.buf)+len(block) > cap(w.buf) {
		if err := w.flush(); err != nil {
			return err
		}
	}
	w.buf = append(w.buf, block...)
	w.off += int64(len(block))
	return nil
}

func (w *sparseWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.f.WriteAt(w.buf, w.off-int64(len(w.buf)))
	w.buf = w.buf[:0]
	return err
}

// zeroDigest is the digest of n zero bytes, computed once per size.
func (p *puller) zeroDigest(n int64) digest.Digest {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d, ok := p.zeros[n]; ok {
		return d
	}
	p.zeros[n] = zeroDigest(n)
	return p.zeros[n]
}

// assemble writes every disk of the image into tmp from the store: each
// chunk cloned into place where the filesystem can, else copied without
// its zeros; zero chunks stay holes.
func (p *puller) assemble(ctx context.Context, tmp vm.Bundle, img *image, cloned *atomic.Bool) error {
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, name := range img.disks {
		f, err := os.OpenFile(tmp.DiskPath(name), os.O_RDWR, 0)
		if err != nil {
			return err
		}
		files[name] = f
		if err := f.Truncate(img.sizes[name]); err != nil {
			return vmNoSpace(err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.opts.concurrency())
	for _, ch := range img.chunks {
		if ch.zero {
			continue
		}
		dst := files[ch.file]
		g.Go(func() error {
			src, err := os.Open(p.store.chunkPath(ch.desc.Digest))
			if err != nil {
				return fmt.Errorf("the content store lost chunk %s (pruned while pulling?): %w; pull again", ch.desc.Digest, err)
			}
			defer src.Close()
			if cloneRange(dst, src, ch.offset, ch.size) == nil {
				cloned.Store(true)
				return nil
			}
			if copyData(dst, src, ch.offset, ch.size) == nil {
				return nil
			}
			return copyInto(gctx, dst, src, ch.offset, ch.size)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return vmNoSpace(err)
		}
	}
	return nil
}

// copyInto copies the data of src (n bytes) to dst at off, skipping holes
// and zeros so they stay holes.
func copyInto(ctx context.Context, dst, src *os.File, off, n int64) error {
	buf := make([]byte, 4<<20)
	for pos := int64(0); pos < n; {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := min(int64(len(buf)), n-pos)
		if !hasData(src, pos, m) {
			pos += m
			continue
		}
		if _, err := src.ReadAt(buf[:m], pos); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if !allZero(buf[:m]) {
			if _, err := dst.WriteAt(buf[:m], off+pos); err != nil {
				return vmNoSpace(err)
			}
		}
		pos += m
	}
	return nil
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return vm.WriteFileAtomic(dst, data, 0o644)
}

func vmNoSpace(err error) error {
	if err != nil && strings.Contains(err.Error(), "no space left") {
		return fmt.Errorf("%w: %w; free up space or prune the content store (vivarium prune)", vm.ErrNoSpace, err)
	}
	return err
}

// safeFileName reports whether a file named by an image may be written in
// the VM folder: a plain name, and for small files one Vivarium knows.
func safeFileName(name string, small bool) bool {
	if small {
		switch name {
		case vm.EFIVarsFile, vm.AuxFile, vm.HardwareFile, vm.MachineIDFile:
			return true
		}
		return false
	}
	return name != "" && name == path.Base(name) && !strings.HasPrefix(name, ".") && !strings.ContainsAny(name, "/\\") && name != vm.ConfigFile
}
