//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

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
		size, written, rounds = 256*vm.MiB, 32<<20, 1
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
	if _, err := diskVM(ctx, lib, "bench", size, written); err != nil {
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
	image := func(repo string) string { return reg.Host + "/" + repo + ":v1" }
	layout := filepath.Join(work, "layout")

	// The baseline's source: the very image vivarium pushes, as a local
	// OCI layout (untimed).
	if _, err := viv("push", "bench", image("seed"), "--insecure"); err != nil {
		return err
	}
	if _, err := skopeo("--src-tls-verify=false", "--src-creds", creds, "docker://"+image("seed"), "oci:"+layout+":v1"); err != nil {
		return err
	}

	var pushOurs, pushSkopeo, pullOurs, pullSkopeo []time.Duration
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
		if _, err := ocitest.DockerConfig(docker, ocitest.Password, reg.Host, oursReg.Host); err != nil {
			return err
		}
		err = alternate(round,
			func() error {
				d, err := viv("push", "bench", oursReg.Host+"/bench:v1", "--insecure")
				pushOurs = append(pushOurs, d)
				return err
			},
			func() error {
				d, err := skopeo("--dest-tls-verify=false", "--dest-creds", creds, "oci:"+layout+":v1", "docker://"+skopeoReg.Host+"/bench:v1")
				pushSkopeo = append(pushSkopeo, d)
				return err
			})
		oursReg.Stop()
		skopeoReg.Stop()
		os.RemoveAll(oursReg.Dir)
		os.RemoveAll(skopeoReg.Dir)
		if err != nil {
			return err
		}
		logRound("push", round, pushOurs[round], pushSkopeo[round])
		dst := filepath.Join(work, fmt.Sprintf("pulled-%d", round))
		name := fmt.Sprintf("pulled-%d", round)
		err = alternate(round,
			func() error {
				d, err := viv("pull", image("seed"), name, "--insecure")
				pullOurs = append(pullOurs, d)
				return err
			},
			func() error {
				d, err := timeFunc(func() error {
					if _, err := skopeo("--src-tls-verify=false", "--src-creds", creds, "docker://"+image("seed"), "oci:"+dst+":v1"); err != nil {
						return err
					}
					_, err := timeCommand(ctx, nil, "sync", "-f", dst)
					return err
				})
				pullSkopeo = append(pullSkopeo, d)
				return err
			})
		if err != nil {
			return err
		}
		logRound("pull", round, pullOurs[round], pullSkopeo[round])
		// Start the next round from nothing: no cached chunks, no copies.
		os.RemoveAll(dst)
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
		how            string
	}{
		{"push", pushOurs, pushSkopeo, "skopeo copy oci: → docker://"},
		{"pull", pullOurs, pullSkopeo, "skopeo copy docker:// → oci:"},
	} {
		o, b := best(m.ours), best(m.baseline)
		r.add(row{
			what: fmt.Sprintf("%s, %s", m.verb, what),
			ours: throughput(o), baseline: throughput(b) + " (" + m.how + ")", ratio: ratio(o, b),
			goal: "≤ 1.0: at least skopeo's throughput", met: metIf(ratio(o, b) <= 1.0),
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
	if _, err := viv("push", "bench", reg.Host+"/seed:v2", "--insecure"); err != nil {
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
		goal: "only the changed chunk downloaded", met: metIf(res.Downloaded == 1),
	})
	r.note("Push and pull: a VM with one %s sparse disk holding %s of random data in 16 MiB pieces spread over it, through Debian's docker-registry (distribution 2.8) on 127.0.0.1 with an htpasswd user. Ours: `vivarium push` (read, LZ4-compress in Tart's 512 MiB chunks, upload in parallel) and `vivarium pull` into a new VM (download, verify, decompress into the content store, build the disk, fsync), with the content store pruned between rounds so every pull downloads everything. Baseline: `skopeo copy --preserve-digests` of the same image (the same blobs) from a local OCI layout to a registry that has never seen them (both sides push to a fresh registry each round, so skopeo cannot mount blobs it saw elsewhere), and from the registry to a new OCI layout followed by `sync`. The ratio is ours ÷ skopeo in time, so ≤ 1.0 means at least skopeo's throughput.", size.String(), vm.Size(written).String())
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
