package oci_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pierrec/lz4/v4"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/oci"
	"github.com/vivarium-vm/vivarium/vm/oci/ocitest"
)

const chunk = 1 << 20 // small chunks, so a small disk has many

func creds(t *testing.T, host, password string) credentials.Store {
	t.Helper()
	s := credentials.NewMemoryStore()
	if err := s.Put(context.Background(), host, auth.Credential{Username: ocitest.User, Password: password}); err != nil {
		t.Fatal(err)
	}
	return s
}

// fill writes random data at the given MiB offsets of a disk.
func fill(t *testing.T, path string, seed uint64, mibs ...int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(seed, 7))
	buf := make([]byte, 1<<20)
	for _, m := range mibs {
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		// half random, half text: both compressible and not
		copy(buf[len(buf)/2:], bytes.Repeat([]byte("vivarium "), len(buf)/18))
		if _, err := f.WriteAt(buf, m<<20); err != nil {
			t.Fatal(err)
		}
	}
}

func sum(t *testing.T, path string) [32]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}

// sourceVM makes a stopped VM with two disks (data, holes, zeros), an EFI
// store, a share and kernel boot paths of this host.
func sourceVM(t *testing.T, lib *vm.Library) *vm.Info {
	t.Helper()
	host := t.TempDir()
	kernel, initrd := filepath.Join(host, "vmlinux"), filepath.Join(host, "initrd")
	os.WriteFile(kernel, []byte("k"), 0o644)
	os.WriteFile(initrd, []byte("i"), 0o644)
	c := vm.NewConfig("src", vm.OSLinux)
	c.Backend, c.Arch, c.CPUs, c.Memory = vm.BackendQEMU, vm.ArchAMD64, 3, 1*vm.GiB
	c.Boot = vm.Boot{Mode: vm.BootLinux, Kernel: kernel, Initrd: initrd, Cmdline: "console=ttyS0"}
	c.Disks = []vm.Disk{{Size: 24 * vm.MiB}, {Size: 3*vm.MiB + 512*vm.KiB}}
	c.Shares = []vm.Share{{Path: host, Tag: "work"}}
	c.Clipboard = true
	info, err := lib.Create(context.Background(), c, vm.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := info.Bundle()
	fill(t, b.DiskPath("disk-0.img"), 1, 0, 3, 4, 10, 23)
	fill(t, b.DiskPath("disk-1.img"), 2, 1)
	os.WriteFile(b.EFIVarsPath(), bytes.Repeat([]byte{0xEF}, 128<<10), 0o644)
	return info
}

func TestPushPullRoundTrip(t *testing.T) {
	reg := ocitest.Require(t)
	ctx := context.Background()
	lib, _ := vm.OpenLibrary(t.TempDir())
	src := sourceVM(t, lib)
	store := creds(t, reg.Host, ocitest.Password)
	opts := oci.Options{Insecure: true, Credentials: store, ChunkSize: chunk}
	ref := reg.Host + "/team/linux:v1"

	pushed, err := oci.Push(ctx, lib, "src", ref, opts)
	if err != nil {
		t.Fatal(err)
	}
	if pushed.Chunks != 24+4 {
		t.Errorf("pushed %d chunks, want 28", pushed.Chunks)
	}
	if _, ok := pushed.HostPaths["boot.kernel"]; !ok || pushed.HostPaths["shares[0].path"] == "" {
		t.Errorf("host paths not listed: %v", pushed.HostPaths)
	}

	// The ecosystem's own tool reads it as Tart's format.
	out, err := exec.Command("skopeo", "inspect", "--raw", "--tls-verify=false",
		"--creds", ocitest.User+":"+ocitest.Password, "docker://"+ref).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo inspect: %v\n%s", err, out)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("skopeo printed %s", out)
	}
	types := map[string]int{}
	for _, l := range m.Layers {
		types[l.MediaType]++
		if l.MediaType == oci.MediaTypeTartDisk && (l.Annotations[oci.AnnotationUncompressedSize] != strconv.Itoa(chunk) || !strings.HasPrefix(l.Annotations[oci.AnnotationUncompressedDigest], "sha256:")) {
			t.Errorf("disk layer annotations: %v", l.Annotations)
		}
	}
	want := map[string]int{oci.MediaTypeTartConfig: 1, oci.MediaTypeTartDisk: 24, oci.MediaTypeTartNVRAM: 1, oci.MediaTypeVivariumDisk: 4, oci.MediaTypeVivariumConfig: 1}
	if !reflect.DeepEqual(types, want) {
		t.Errorf("layer media types = %v, want %v", types, want)
	}
	if m.Annotations[oci.AnnotationUncompressedDiskSize] != strconv.Itoa(24<<20) {
		t.Errorf("manifest annotations: %v", m.Annotations)
	}

	mark := len(reg.Log())
	pulled, err := oci.Pull(ctx, lib, ref, "copy", opts)
	if err != nil {
		t.Fatal(err)
	}
	if pulled.Format != "vivarium" || pulled.Zero == 0 || pulled.Downloaded+pulled.Zero != pulled.Chunks {
		t.Errorf("pull: %+v", pulled)
	}
	// Zero chunks are never fetched: only the data chunks left the registry.
	if gets := reg.BlobGets("team/linux", mark); len(gets) >= pulled.Chunks {
		t.Errorf("the registry served %d blobs for %d chunks of which %d are zero", len(gets), pulled.Chunks, pulled.Zero)
	}
	a, b := src.Bundle(), pulled.Info.Bundle()
	for _, f := range []string{"disk-0.img", "disk-1.img", vm.EFIVarsFile} {
		if sum(t, a.DiskPath(f)) != sum(t, b.DiskPath(f)) {
			t.Errorf("%s differs after the round trip", f)
		}
	}
	// Holes stay holes.
	if alloc, _ := vm.Allocated(b.DiskPath("disk-0.img")); alloc > 8<<20 {
		t.Errorf("the pulled disk takes %d bytes; its data is 5 MiB", alloc)
	}
	ca, _ := vm.LoadConfig(a.ConfigPath())
	cb, _ := vm.LoadConfig(b.ConfigPath())
	ca.Name = "copy"
	if !bytes.Equal(ca.Encode(), cb.Encode()) {
		t.Errorf("config.toml differs:\n%s\nvs\n%s", ca.Encode(), cb.Encode())
	}

	// A second pull into the same name is refused before any download.
	mark = len(reg.Log())
	if _, err := oci.Pull(ctx, lib, ref, "copy", opts); !errors.Is(err, vm.ErrExists) {
		t.Errorf("pull into an existing name: %v", err)
	}
	if gets := reg.BlobGets("team/linux", mark); len(gets) != 0 {
		t.Errorf("a refused pull downloaded %d blobs", len(gets))
	}

	// A tag sharing all but one chunk downloads that chunk only.
	fill(t, a.DiskPath("disk-0.img"), 9, 10)
	if _, err := oci.Push(ctx, lib, "src", reg.Host+"/team/linux:v2", opts); err != nil {
		t.Fatal(err)
	}
	second, err := oci.Pull(ctx, lib, reg.Host+"/team/linux:v2", "second", opts)
	if err != nil {
		t.Fatal(err)
	}
	if second.Downloaded != 1 || second.Reused != pulled.Downloaded-1 {
		t.Errorf("second tag: downloaded %d, reused %d; want 1 and %d", second.Downloaded, second.Reused, pulled.Downloaded-1)
	}
	if sum(t, a.DiskPath("disk-0.img")) != sum(t, second.Info.Bundle().DiskPath("disk-0.img")) {
		t.Error("the second tag's disk differs")
	}

	// prune empties the store; the VMs keep their disks.
	res, err := oci.LibraryStore(lib).Prune()
	if err != nil || res.Entries == 0 || res.Bytes == 0 {
		t.Errorf("prune: %+v %v", res, err)
	}
	if sum(t, a.DiskPath("disk-1.img")) != sum(t, second.Info.Bundle().DiskPath("disk-1.img")) {
		t.Error("prune changed a VM")
	}
}

func TestHostPathsMissingOnThePullingHost(t *testing.T) {
	reg := ocitest.Require(t)
	ctx := context.Background()
	lib, _ := vm.OpenLibrary(t.TempDir())
	src := sourceVM(t, lib)
	opts := oci.Options{Insecure: true, Credentials: creds(t, reg.Host, ocitest.Password), ChunkSize: 8 << 20}
	ref := reg.Host + "/team/paths:v1"
	if _, err := oci.Push(ctx, lib, "src", ref, opts); err != nil {
		t.Fatal(err)
	}
	c, _ := vm.LoadConfig(src.Bundle().ConfigPath())
	os.RemoveAll(filepath.Dir(c.Boot.Kernel)) // the other host has none of them
	pulled, err := oci.Pull(ctx, lib, ref, "elsewhere", opts)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := vm.LoadConfig(pulled.Info.Bundle().ConfigPath())
	if got.Boot.Mode != vm.BootEFI || len(got.Shares) != 0 || got.CPUs != 3 || !got.Clipboard {
		t.Errorf("config after a pull on another host: %+v", got)
	}
	if text := strings.Join(pulled.Dropped, "\n"); !strings.Contains(text, "boot.kernel") || !strings.Contains(text, "shares[0].path") {
		t.Errorf("dropped paths not listed: %q", text)
	}
}

func TestWrongPasswordIsOneClearSentence(t *testing.T) {
	reg := ocitest.Require(t)
	lib, _ := vm.OpenLibrary(t.TempDir())
	sourceVM(t, lib)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		store credentials.Store
		want  string
	}{
		{"wrong password", creds(t, reg.Host, "wrong"), "refused the user name and password stored for it"},
		{"no credentials", credentials.NewMemoryStore(), "asks for a user name and password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := oci.Push(ctx, lib, "src", reg.Host+"/team/x:v1", oci.Options{Insecure: true, Credentials: tc.store})
			if !errors.Is(err, oci.ErrUnauthorized) {
				t.Fatalf("err = %v", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "vivarium login "+reg.Host) || strings.Count(msg, ". ") > 0 || strings.Contains(msg, "\n") {
				t.Errorf("message is not one clear sentence: %q", msg)
			}
		})
	}
	if err := oci.Login(ctx, reg.Host, ocitest.User, "wrong", oci.Options{Insecure: true, Credentials: credentials.NewMemoryStore()}); !errors.Is(err, oci.ErrUnauthorized) {
		t.Errorf("login with a wrong password: %v", err)
	}
	store := credentials.NewMemoryStore()
	if err := oci.Login(ctx, reg.Host, ocitest.User, ocitest.Password, oci.Options{Insecure: true, Credentials: store}); err != nil {
		t.Fatalf("login: %v", err)
	}
	if _, err := oci.Push(ctx, lib, "src", reg.Host+"/team/x:v1", oci.Options{Insecure: true, Credentials: store, ChunkSize: 8 << 20}); err != nil {
		t.Errorf("push after login: %v", err)
	}
	if err := oci.Logout(ctx, reg.Host, oci.Options{Credentials: store}); err != nil {
		t.Fatal(err)
	}
	if _, err := oci.Pull(ctx, lib, reg.Host+"/team/x:v1", "y", oci.Options{Insecure: true, Credentials: store}); !errors.Is(err, oci.ErrUnauthorized) {
		t.Errorf("pull after logout: %v", err)
	}
}

func TestInterruptedPullResumes(t *testing.T) {
	reg := ocitest.Require(t)
	ctx := context.Background()
	lib, _ := vm.OpenLibrary(t.TempDir())
	src := sourceVM(t, lib)
	fill(t, src.Bundle().DiskPath("disk-0.img"), 3, 1, 2, 5, 6, 7, 8, 9, 11, 12, 13)
	opts := oci.Options{Insecure: true, Credentials: creds(t, reg.Host, ocitest.Password), ChunkSize: chunk, Concurrency: 2}
	ref := reg.Host + "/team/resume:v1"
	if _, err := oci.Push(ctx, lib, "src", ref, opts); err != nil {
		t.Fatal(err)
	}

	// Cut the pull once about half of the compressed bytes have arrived.
	cut, cancel := context.WithCancel(ctx)
	var stopped atomic.Bool
	first := opts
	first.Progress = func(done, total int64) {
		if total > 0 && done > total/2 && !stopped.Swap(true) {
			cancel()
		}
	}
	if _, err := oci.Pull(cut, lib, ref, "resumed", first); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted pull: %v", err)
	}
	infos, _ := lib.List(ctx)
	for _, i := range infos {
		if i.Name == "resumed" {
			t.Fatal("a half-pulled VM is listed")
		}
	}

	mark := len(reg.Log())
	res, err := oci.Pull(ctx, lib, ref, "resumed", opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Reused == 0 || res.Downloaded == 0 || res.Reused+res.Downloaded+res.Zero != res.Chunks {
		t.Errorf("resumed pull: %+v", res)
	}
	// The registry's own log agrees: only the missing chunks were served.
	gets := reg.BlobGets("team/resume", mark)
	var chunkGets int
	for range gets {
		chunkGets++
	}
	if chunkGets > res.Downloaded+3 { // + config, NVRAM and Vivarium layers
		t.Errorf("the registry served %d blobs; the pull says it fetched %d chunks", chunkGets, res.Downloaded)
	}
	t.Logf("interrupted pull kept %d chunks; the next fetched %d (%d zero)", res.Reused, res.Downloaded, res.Zero)
	if sum(t, src.Bundle().DiskPath("disk-0.img")) != sum(t, res.Info.Bundle().DiskPath("disk-0.img")) {
		t.Error("the resumed pull's disk differs")
	}
}

// appleLZ4 frames data by the format's description (Apple's Compression
// framework, as Tart writes it): raw LZ4 blocks in "bv41" headers, stored
// blocks in "bv4-", then "bv4$". Independent of the package's encoder.
func appleLZ4(t *testing.T, data []byte) []byte {
	var out []byte
	const block = 1 << 16
	dst := make([]byte, lz4.CompressBlockBound(block))
	for len(data) > 0 {
		n := min(len(data), block)
		m, err := lz4.CompressBlock(data[:n], dst, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m == 0 || m >= n {
			out = append(out, "bv4-"...)
			out = binary.LittleEndian.AppendUint32(out, uint32(n))
			out = append(out, data[:n]...)
		} else {
			out = append(out, "bv41"...)
			out = binary.LittleEndian.AppendUint32(out, uint32(n))
			out = binary.LittleEndian.AppendUint32(out, uint32(m))
			out = append(out, dst[:m]...)
		}
		data = data[n:]
	}
	return append(out, "bv4$"...)
}

// TestPullTartImage assembles an image the way Tart's source lays it out
// (VMDirectory+OCI.swift, DiskV2.swift, Manifest.swift) and pulls it.
func TestPullTartImage(t *testing.T) {
	reg := ocitest.Require(t)
	ctx := context.Background()
	store := creds(t, reg.Host, ocitest.Password)
	repo, err := remote.NewRepository(reg.Host + "/cirruslabs/ubuntu")
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	repo.Client = &auth.Client{Credential: credentials.Credential(store)}
	push := func(mediaType string, data []byte, annotations map[string]string) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data)), Annotations: annotations}
		if err := repo.Push(ctx, d, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	config := `{"version":1,"os":"linux","arch":"arm64","cpuCountMin":4,"cpuCount":4,"memorySizeMin":4294967296,"memorySize":4294967296,"macAddress":"7e:c2:4a:1b:2c:3d","display":{"width":1024,"height":768},"displayRefit":true,"diskFormat":"raw"}`
	layers := []ocispec.Descriptor{push(oci.MediaTypeTartConfig, []byte(config), nil)}
	// A 6 MiB disk in 2 MiB chunks (Tart's are 512 MiB): data, zeros, data.
	disk := make([]byte, 6<<20)
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range 2 << 20 {
		disk[i] = byte(rng.Uint32() % 16)
	}
	copy(disk[5<<20:], bytes.Repeat([]byte("tart "), 1000))
	for off := 0; off < len(disk); off += 2 << 20 {
		part := disk[off : off+2<<20]
		layers = append(layers, push(oci.MediaTypeTartDisk, appleLZ4(t, part), map[string]string{
			oci.AnnotationUncompressedSize:   strconv.Itoa(len(part)),
			oci.AnnotationUncompressedDigest: digest.FromBytes(part).String(),
		}))
	}
	nvram := bytes.Repeat([]byte("NVRAM"), 1000)
	layers = append(layers, push(oci.MediaTypeTartNVRAM, nvram, nil))
	cfg := push(ocispec.MediaTypeImageConfig, []byte(`{"architecture":"arm64","os":"linux","config":{"Labels":{"org.cirruslabs.tart.disk.format":"raw"}}}`), nil)
	manifest, _ := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: layers,
		Annotations: map[string]string{oci.AnnotationUncompressedDiskSize: strconv.Itoa(len(disk))},
	})
	md := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(manifest), Size: int64(len(manifest))}
	if err := repo.PushReference(ctx, md, bytes.NewReader(manifest), "latest"); err != nil {
		t.Fatal(err)
	}

	lib, _ := vm.OpenLibrary(t.TempDir())
	res, err := oci.Pull(ctx, lib, reg.Host+"/cirruslabs/ubuntu", "", oci.Options{Insecure: true, Credentials: store})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != "tart" || res.Info.Name != "ubuntu" || res.Chunks != 3 || res.Zero != 1 || res.Downloaded != 2 {
		t.Errorf("pull: %+v", res)
	}
	b := res.Info.Bundle()
	got, _ := os.ReadFile(b.DiskPath("disk-0.img"))
	if !bytes.Equal(got, disk) {
		t.Error("the pulled disk differs from the Tart image's")
	}
	if got, _ := os.ReadFile(b.EFIVarsPath()); !bytes.Equal(got, nvram) {
		t.Error("the NVRAM did not become the EFI variable store")
	}
	c := res.Info.Config
	if c.OS != vm.OSLinux || c.Backend != vm.BackendVZ || c.Arch != vm.ArchARM64 || c.CPUs != 4 || c.Memory != 4*vm.GiB ||
		c.Boot.Mode != vm.BootEFI || c.Network.MAC != "7e:c2:4a:1b:2c:3d" || c.Display.Width != 1024 || c.Disks[0].Size != vm.Size(len(disk)) {
		t.Errorf("config from Tart's: %+v", c)
	}
}

func TestDiskFileNamesTravel(t *testing.T) {
	reg := ocitest.Require(t)
	ctx := context.Background()
	lib, _ := vm.OpenLibrary(t.TempDir())
	c := vm.NewConfig("named", vm.OSLinux)
	c.Disks = []vm.Disk{{File: "system.img", Size: 4 * vm.MiB}, {File: "data.img", Size: 2 * vm.MiB}}
	info, err := lib.Create(ctx, c, vm.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, info.Bundle().DiskPath("system.img"), 3, 1)
	fill(t, info.Bundle().DiskPath("data.img"), 4, 0)
	opts := oci.Options{Insecure: true, Credentials: creds(t, reg.Host, ocitest.Password), ChunkSize: chunk}
	ref := reg.Host + "/team/named:v1"
	if _, err := oci.Push(ctx, lib, "named", ref, opts); err != nil {
		t.Fatal(err)
	}
	res, err := oci.Pull(ctx, lib, ref, "copy", opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"system.img", "data.img"} {
		if sum(t, info.Bundle().DiskPath(f)) != sum(t, res.Info.Bundle().DiskPath(f)) {
			t.Errorf("%s differs after the round trip", f)
		}
	}
	if res.Chunks != 6 {
		t.Errorf("chunks = %d, want 6", res.Chunks)
	}
}
