//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/oci/ocitest"
)

// benchOCI times `vivarium push` and `vivarium pull` of a VM against
// `skopeo copy` of the same image between the same registry (Debian's
// docker-registry on 127.0.0.1) and a local OCI layout, and checks that a
// second pull of a tag sharing chunks downloads only the chunk that
// differs.
func benchOCI(ctx context.Context, cfg *config, r *report) error {
	if _, err := os.Stat(ocitest.Binary); err != nil {
		return skipf("%s is not installed (Debian's docker-registry package; scripts/deps.sh test installs it)", ocitest.Binary)
	}
	if _, err := exec.LookPath("skopeo"); err != nil {
		return skipf("skopeo is not installed (scripts/deps.sh test installs it)")
	}
	size, written, rounds := 4*vm.GiB, int64(1<<30), 3
	if cfg.quick {
		size, written, rounds = 128*vm.MiB, 16<<20, 1
	}
	work := filepath.Join(cfg.work, "oci")
	reg, err := ocitest.Start(ctx, filepath.Join(work, "registry"))
	if err != nil {
		return err
	}
	defer reg.Stop()
	docker, err := ocitest.DockerConfig(filepath.Join(work, "docker"), ocitest.Password, reg.Host)
	if err != nil {
		return err
	}
	home := filepath.Join(work, "library")
	lib, err := vm.OpenLibrary(home)
	if err != nil {
		return err
	}
	info, err := diskVM(ctx, lib, "bench", size, written)
	if err != nil {
		return err
	}
	env := []string{"VIVARIUM_HOME=" + home, "DOCKER_CONFIG=" + docker}
	creds := ocitest.User + ":" + ocitest.Password
	viv := func(args ...string) (time.Duration, error) {
		return timeCommand(ctx, env, cfg.vivarium, args...)
	}
	skopeo := func(args ...string) (time.Duration, error) {
		return timeCommand(ctx, nil, "skopeo", append([]string{"copy", "--quiet", "--preserve-digests"}, args...)...)
	}
	// skopeoPull copies an image to a new OCI layout and has it on disk.
	skopeoPull := func(ref, dst string) (time.Duration, error) {
		return timeFunc(func() error {
			if _, err := skopeo("--src-tls-verify=false", "--src-creds", creds, "docker://"+ref, "oci:"+dst+":v1"); err != nil {
				return err
			}
			_, err := timeCommand(ctx, nil, "sync", "-f", dst)
			return err
		})
	}
	image := func(repo string) string { return reg.Host + "/" + repo + ":v1" }
	layout := filepath.Join(work, "layout")
	rawLayout := filepath.Join(work, "layout-raw")
	if err := rawDiskLayout(rawLayout, info.Bundle().DiskPath(vm.DiskFileName(0))); err != nil {
		return err
	}
	if _, err := skopeo("--dest-tls-verify=false", "--dest-creds", creds, "oci:"+rawLayout+":v1", "docker://"+image("raw")); err != nil {
		return err
	}

	// The baseline's source: the very image vivarium pushes, as a local
	// OCI layout (untimed).
	// Tart's 512 MiB chunks; the quick run's small disk gets small ones, so
	// that it too has several.
	chunkSize := "512MiB"
	if cfg.quick {
		chunkSize = "16MiB"
	}
	if _, err := viv("push", "bench", image("seed"), "--insecure", "--chunk-size", chunkSize); err != nil {
		return err
	}
	if _, err := skopeo("--src-tls-verify=false", "--src-creds", creds, "docker://"+image("seed"), "oci:"+layout+":v1"); err != nil {
		return err
	}

	var pushOurs, pushSkopeo, pullOurs, pullSkopeo, pushRaw, pullRaw []time.Duration
	for round := range rounds {
		// Each push goes to a registry of its own that has never seen the
		// blobs: skopeo remembers where it saw a blob and would mount it
		// from there instead of sending it.
		fresh := func(who string) (*ocitest.Registry, error) {
			return ocitest.Start(ctx, filepath.Join(work, fmt.Sprintf("registry-%s-%d", who, round)))
		}
		oursReg, err := fresh("ours")
		if err != nil {
			return err
		}
		skopeoReg, err := fresh("skopeo")
		if err != nil {
			oursReg.Stop()
			return err
		}
		rawReg, err := fresh("raw")
		if err != nil {
			oursReg.Stop()
			skopeoReg.Stop()
			return err
		}
		if _, err := ocitest.DockerConfig(docker, ocitest.Password, reg.Host, oursReg.Host); err != nil {
			return err
		}
		err = alternate(round,
			func() error {
				d, err := viv("push", "bench", oursReg.Host+"/bench:v1", "--insecure", "--chunk-size", chunkSize)
				pushOurs = append(pushOurs, d)
				return err
			},
			func() error {
				d, err := skopeo("--dest-tls-verify=false", "--dest-creds", creds, "oci:"+layout+":v1", "docker://"+skopeoReg.Host+"/bench:v1")
				pushSkopeo = append(pushSkopeo, d)
				return err
			},
			func() error {
				d, err := skopeo("--dest-tls-verify=false", "--dest-creds", creds, "oci:"+rawLayout+":v1", "docker://"+rawReg.Host+"/bench:v1")
				pushRaw = append(pushRaw, d)
				return err
			})
		for _, r := range []*ocitest.Registry{oursReg, skopeoReg, rawReg} {
			r.Stop()
			os.RemoveAll(r.Dir)
		}
		if err != nil {
			return err
		}
		logRound("push (same blobs)", round, pushOurs[round], pushSkopeo[round])
		logRound("push (raw disk)", round, pushOurs[round], pushRaw[round])
		dst := filepath.Join(work, fmt.Sprintf("pulled-%d", round))
		name := fmt.Sprintf("pulled-%d", round)
		err = alternate(round,
			func() error {
				d, err := viv("pull", image("seed"), name, "--insecure")
				pullOurs = append(pullOurs, d)
				return err
			},
			func() error {
				d, err := skopeoPull(image("seed"), dst)
				pullSkopeo = append(pullSkopeo, d)
				return err
			},
			func() error {
				d, err := skopeoPull(image("raw"), dst+"-raw")
				pullRaw = append(pullRaw, d)
				return err
			})
		if err != nil {
			return err
		}
		logRound("pull (same blobs)", round, pullOurs[round], pullSkopeo[round])
		logRound("pull (raw disk)", round, pullOurs[round], pullRaw[round])
		// Start the next round from nothing: no cached chunks, no copies.
		os.RemoveAll(dst)
		os.RemoveAll(dst + "-raw")
		if _, err := viv("delete", name); err != nil {
			return err
		}
		if _, err := viv("prune"); err != nil {
			return err
		}
	}
	throughput := func(d time.Duration) string {
		return fmt.Sprintf("%s (%.0f MiB/s of disk)", formatDuration(d), float64(size)/(1<<20)/d.Seconds())
	}
	what := fmt.Sprintf("%s disk (%s of data, the rest holes)", size.String(), vm.Size(written).String())
	for _, m := range []struct {
		verb           string
		ours, baseline []time.Duration
		how, goal      string
	}{
		{"push", pushOurs, pushRaw, "skopeo copy oci: → docker:// of the disk as one raw layer", "≤ 1.0: at least skopeo's throughput"},
		{"pull", pullOurs, pullRaw, "skopeo copy docker:// → oci: of the disk as one raw layer", "≤ 1.0: at least skopeo's throughput"},
		{"push", pushOurs, pushSkopeo, "skopeo copy oci: → docker:// of our image's own blobs, already compressed", "(none: skopeo only moves what we compressed)"},
		{"pull", pullOurs, pullSkopeo, "skopeo copy docker:// → oci: of our image's own blobs, left compressed", "(none: skopeo does not make a disk)"},
	} {
		o, b := best(m.ours), best(m.baseline)
		met := ""
		if strings.HasPrefix(m.goal, "≤") {
			met = metIf(ratio(o, b) <= 1.0)
		}
		r.add(row{
			what: fmt.Sprintf("%s, %s", m.verb, what),
			ours: throughput(o), baseline: throughput(b) + " (" + m.how + ")", ratio: ratio(o, b),
			goal: m.goal, met: met,
		})
	}

	// A second tag that shares all chunks but one: pulled after the first,
	// only that chunk may come down.
	if _, err := viv("pull", image("seed"), "first", "--insecure"); err != nil {
		return err
	}
	if err := writeSpreadSeed(lib, "bench", size); err != nil {
		return err
	}
	if _, err := viv("push", "bench", reg.Host+"/seed:v2", "--insecure", "--chunk-size", chunkSize); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, cfg.vivarium, "pull", reg.Host+"/seed:v2", "second", "--insecure", "--json")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("vivarium pull of the second tag: %w", err)
	}
	var res struct {
		Chunks, Downloaded, Reused, Zero int
		Bytes                            int64
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &res); err != nil {
		return fmt.Errorf("vivarium pull --json printed %q: %w", out, err)
	}
	r.add(row{
		what: "second pull, a tag sharing all chunks but one with a tag pulled before",
		ours: fmt.Sprintf("%d of %d chunks downloaded (%s), %d reused, %d empty", res.Downloaded, res.Chunks, vm.Size(res.Bytes).Human(), res.Reused, res.Zero),
		goal: "only the changed chunk downloaded", met: metIf(res.Downloaded == 1 && res.Reused == res.Chunks-1-res.Zero && res.Chunks > 1),
	})
	r.note("Push and pull: a VM with one %s sparse disk holding %s of random data in 16 MiB pieces spread over it, through Debian's docker-registry (distribution 2.8) on 127.0.0.1 with an htpasswd user. Ours: `vivarium push` (read, LZ4-compress in Tart's 512 MiB chunks, upload in parallel) and `vivarium pull` into a new VM (download, verify, decompress into the content store, build the disk, fsync), with the content store pruned between rounds so every pull downloads everything. Baselines, both `skopeo copy --preserve-digests` between a local OCI layout and a registry that has never seen the blobs (every push goes to a fresh registry each round, so skopeo cannot mount blobs it saw elsewhere), and from the registry to a new OCI layout followed by `sync`: (1) the disk as it is, one raw layer, which is how the same content travels without Vivarium; (2) the very blobs of our image (already compressed by us), which measures transport alone and leaves skopeo's pull with compressed chunks rather than a disk. The ratio is ours ÷ skopeo in time, so ≤ 1.0 means at least skopeo's throughput.", size.String(), vm.Size(written).String())
	return nil
}

// writeSpreadSeed changes one 16 MiB piece of the VM's disk, so that a new
// push differs from the last in one chunk.
func writeSpreadSeed(lib *vm.Library, name string, size vm.Size) error {
	b, err := lib.Bundle(name)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(b.DiskPath(vm.DiskFileName(0)), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte("second tag "), 100000), int64(size)/2+12345); err != nil {
		return err
	}
	return f.Sync()
}

// rawDiskLayout makes an OCI layout whose one layer is the disk as it is
// (hard-linked, not copied): the same content, without Vivarium.
func rawDiskLayout(dir, disk string) error {
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return err
	}
	f, err := os.Open(disk)
	if err != nil {
		return err
	}
	h := sha256.New()
	size, err := io.Copy(h, f)
	f.Close()
	if err != nil {
		return err
	}
	diskDigest := digest.NewDigest(digest.SHA256, h)
	if err := os.Link(disk, filepath.Join(blobs, diskDigest.Encoded())); err != nil {
		return err
	}
	put := func(data []byte) (digest.Digest, error) {
		d := digest.FromBytes(data)
		return d, os.WriteFile(filepath.Join(blobs, d.Encoded()), data, 0o644)
	}
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	configDigest, err := put(config)
	if err != nil {
		return err
	}
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":%d}]}`,
		configDigest, len(config), diskDigest, size)
	manifestDigest, err := put([]byte(manifest))
	if err != nil {
		return err
	}
	index := fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":%q,"size":%d,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}`,
		manifestDigest, len(manifest))
	if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(index), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}
