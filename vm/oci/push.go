package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/vivarium-vm/vivarium/vm"
)

// PushResult says what a push did.
type PushResult struct {
	Reference string            `json:"reference"`
	Digest    string            `json:"digest"`    // the manifest's
	Chunks    int               `json:"chunks"`    // disk chunks in the image
	Uploaded  int               `json:"uploaded"`  // blobs sent
	Skipped   int               `json:"skipped"`   // blobs the registry already had
	Bytes     int64             `json:"bytes"`     // compressed bytes sent
	HostPaths map[string]string `json:"hostPaths"` // config paths left on this host
}

// Push sends the stopped VM name to the registry as ref, in Tart's format
// plus Vivarium's own layers. Chunks are compressed and sent in parallel;
// the ones the registry already has are not sent again.
func Push(ctx context.Context, lib *vm.Library, name, ref string, opts Options) (*PushResult, error) {
	info, err := lib.Inspect(ctx, name)
	if err != nil {
		return nil, err
	}
	if info.Err != nil {
		return nil, fmt.Errorf("cannot push %q: %w", name, info.Err)
	}
	b := info.Bundle()
	lock, err := b.TryLock()
	if err != nil {
		return nil, fmt.Errorf("cannot push %q while it runs: %w; stop it first", name, vm.ErrRunning)
	}
	defer lock.Unlock()
	c, err := vm.LoadConfig(b.ConfigPath())
	if err != nil {
		return nil, err
	}
	c.Name = name
	files, err := b.PortableFiles(c)
	if err != nil {
		return nil, fmt.Errorf("cannot push %q: %w", name, err)
	}
	t, err := connect(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	p := &pusher{t: t, opts: opts, chunkSize: opts.ChunkSize, zero: map[int64]*zeroChunk{}}
	if p.chunkSize <= 0 {
		p.chunkSize = DefaultChunkSize
	}
	res, err := p.push(ctx, b, c, files)
	if err != nil {
		return nil, t.explain(err)
	}
	return res, nil
}

type pusher struct {
	t         *target
	opts      Options
	chunkSize int64

	mu   sync.Mutex
	zero map[int64]*zeroChunk // compressed all-zero chunks by size

	uploaded, skipped atomic.Int64
	sent, done        atomic.Int64
	total             int64
}

// zeroChunk is an all-zero chunk, compressed once per size.
type zeroChunk struct {
	once       sync.Once
	compressed []byte
	digest     digest.Digest // of the compressed bytes
	content    digest.Digest // of the zeros
}

// layerJob is one layer to send: its bytes are made by the job itself.
type layerJob struct {
	index int
	make  func() (ocispec.Descriptor, []byte, error)
}

func (p *pusher) push(ctx context.Context, b vm.Bundle, c *vm.Config, files []vm.PortableFile) (*PushResult, error) {
	tc, err := tartConfigFor(b, c)
	if err != nil {
		return nil, err
	}
	stripped, hostPaths := stripHostPaths(c)
	var jobs []layerJob
	add := func(f func() (ocispec.Descriptor, []byte, error)) {
		jobs = append(jobs, layerJob{index: len(jobs), make: f})
	}
	small := func(mediaType string, data []byte, annotations map[string]string) {
		add(func() (ocispec.Descriptor, []byte, error) {
			return ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data)), Annotations: annotations}, data, nil
		})
	}
	small(MediaTypeTartConfig, mustJSON(tc), nil)
	var firstDiskSize int64
	chunks := 0
	nvram := vm.EFIVarsFile
	if c.OS == vm.OSMacOS {
		nvram = vm.AuxFile
	}
	var nvramData []byte
	var extra []vm.PortableFile
	disks := 0
	for _, f := range files {
		switch {
		case f.Kind == vm.PortableDisk:
			mediaType, annotations := MediaTypeTartDisk, map[string]string{}
			if disks > 0 {
				mediaType, annotations = MediaTypeVivariumDisk, map[string]string{AnnotationFile: f.Name}
			}
			if disks == 0 && strings.HasSuffix(f.Name, ".qcow2") {
				return nil, fmt.Errorf("%s is a qcow2 image, and Tart's format carries the first disk raw: convert it (qemu-img convert -O raw %s disk-0.img) and point disks[0].file at the copy", f.Name, f.Name)
			}
			st, err := os.Stat(b.DiskPath(f.Name))
			if err != nil {
				return nil, err
			}
			if disks == 0 {
				firstDiskSize = st.Size()
			}
			p.total += st.Size()
			path := b.DiskPath(f.Name)
			for off := int64(0); off < st.Size(); off += p.chunkSize {
				n := min(p.chunkSize, st.Size()-off)
				add(func() (ocispec.Descriptor, []byte, error) {
					return p.chunk(ctx, path, off, n, mediaType, annotations)
				})
				chunks++
			}
			disks++
		case f.Name == nvram:
			if nvramData, err = os.ReadFile(b.DiskPath(f.Name)); err != nil {
				return nil, err
			}
		case f.Kind == vm.PortableConfig:
		case c.OS == vm.OSMacOS && (f.Kind == vm.PortableHardwareModel || f.Kind == vm.PortableMachineID):
			// in Tart's config
		default:
			extra = append(extra, f)
		}
	}
	if disks == 0 {
		return nil, fmt.Errorf("%q has no disk; Tart's format needs one", c.Name)
	}
	if nvramData != nil {
		small(MediaTypeTartNVRAM, nvramData, nil)
	}
	for _, f := range extra {
		data, err := os.ReadFile(b.DiskPath(f.Name))
		if err != nil {
			return nil, err
		}
		small(MediaTypeVivariumFile, data, map[string]string{AnnotationFile: f.Name})
	}
	small(MediaTypeVivariumConfig, mustJSON(vivariumLayer{Config: string(mustJSON(stripped)), HostPaths: hostPaths}), nil)

	layers := make([]ocispec.Descriptor, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.opts.concurrency())
	for _, j := range jobs {
		g.Go(func() error {
			desc, data, err := j.make()
			if err != nil {
				return err
			}
			if err := p.send(gctx, desc, data); err != nil {
				return err
			}
			layers[j.index] = desc
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	imageConfig := ociImageConfig{Architecture: tc.Arch, OS: tc.OS}
	imageConfig.Config.Labels = map[string]string{LabelDiskFormat: "raw"}
	configData := mustJSON(imageConfig)
	configDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(configData), Size: int64(len(configData))}
	if err := p.send(ctx, configDesc, configData); err != nil {
		return nil, err
	}
	manifest := ocispec.Manifest{
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    configDesc,
		Layers:    layers,
		Annotations: map[string]string{
			AnnotationUncompressedDiskSize: strconv.FormatInt(firstDiskSize, 10),
			AnnotationUploadTime:           time.Now().UTC().Format(time.RFC3339),
		},
	}
	manifest.SchemaVersion = 2
	data := mustJSON(manifest)
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(data), Size: int64(len(data))}
	if err := p.t.repo.PushReference(ctx, desc, bytes.NewReader(data), p.t.ref.Reference); err != nil {
		return nil, err
	}
	if p.opts.Progress != nil {
		p.opts.Progress(p.total, p.total)
	}
	return &PushResult{
		Reference: p.t.ref.String(), Digest: desc.Digest.String(), Chunks: chunks,
		Uploaded: int(p.uploaded.Load()), Skipped: int(p.skipped.Load()), Bytes: p.sent.Load(),
		HostPaths: hostPaths,
	}, nil
}

// send uploads one blob unless the registry has it already.
func (p *pusher) send(ctx context.Context, desc ocispec.Descriptor, data []byte) error {
	exists, err := p.t.repo.Exists(ctx, desc)
	if err != nil {
		return err
	}
	if exists {
		p.skipped.Add(1)
		return nil
	}
	if err := p.t.repo.Push(ctx, desc, bytes.NewReader(data)); err != nil {
		return err
	}
	p.uploaded.Add(1)
	p.sent.Add(desc.Size)
	return nil
}

func (p *pusher) progress(n int64) {
	done := p.done.Add(n)
	if p.opts.Progress != nil {
		p.opts.Progress(done, p.total)
	}
}

// chunk reads and compresses [off, off+n) of a disk. A range that is all
// hole (or all zeros) becomes the shared compressed zero chunk.
func (p *pusher) chunk(ctx context.Context, path string, off, n int64, mediaType string, annotations map[string]string) (ocispec.Descriptor, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	defer f.Close()
	describe := func(compressed []byte, compressedDigest, content digest.Digest) (ocispec.Descriptor, []byte, error) {
		a := map[string]string{
			AnnotationUncompressedSize:   strconv.FormatInt(n, 10),
			AnnotationUncompressedDigest: content.String(),
		}
		for k, v := range annotations {
			a[k] = v
		}
		return ocispec.Descriptor{MediaType: mediaType, Digest: compressedDigest, Size: int64(len(compressed)), Annotations: a}, compressed, nil
	}
	if !hasData(f, off, n) {
		z := p.zeroChunk(n)
		p.progress(n)
		return describe(z.compressed, z.digest, z.content)
	}
	var enc lz4Encoder
	content := sha256.New()
	out := make([]byte, 0, 1<<20)
	buf := make([]byte, 4<<20)
	zero := true
	for pos := off; pos < off+n; {
		if err := ctx.Err(); err != nil {
			return ocispec.Descriptor{}, nil, err
		}
		m := min(int64(len(buf)), off+n-pos)
		if !hasData(f, pos, m) {
			// A hole: nothing to read, scan or compress.
			clear(buf[:m])
			content.Write(buf[:m])
			out = enc.appendZeros(out, int(m))
			pos += m
			p.progress(m)
			continue
		}
		if _, err := f.ReadAt(buf[:m], pos); err != nil && !errors.Is(err, io.EOF) {
			return ocispec.Descriptor{}, nil, fmt.Errorf("%s: %w", path, err)
		}
		content.Write(buf[:m])
		if zero && !allZero(buf[:m]) {
			zero = false
		}
		out = enc.appendBlocks(out, buf[:m])
		pos += m
		p.progress(m)
	}
	if zero {
		z := p.zeroChunk(n)
		return describe(z.compressed, z.digest, z.content)
	}
	out = appendEnd(out)
	return describe(out, digest.FromBytes(out), digest.NewDigest(digest.SHA256, content))
}

func (p *pusher) zeroChunk(n int64) *zeroChunk {
	p.mu.Lock()
	z, ok := p.zero[n]
	if !ok {
		z = &zeroChunk{}
		p.zero[n] = z
	}
	p.mu.Unlock()
	z.once.Do(func() {
		var enc lz4Encoder
		zeros := make([]byte, 4<<20)
		var out []byte
		for left := n; left > 0; {
			m := min(int64(len(zeros)), left)
			out = enc.appendBlocks(out, zeros[:m])
			left -= m
		}
		z.compressed = appendEnd(out)
		z.digest = digest.FromBytes(z.compressed)
		z.content = zeroDigest(n)
	})
	return z
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
