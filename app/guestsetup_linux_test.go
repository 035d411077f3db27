package main

// Guest setup as a person uses it: `vivarium guest-setup` on a VM of a real
// Debian guest with cloud-init (the desktop test guest), one boot, then
// `vivarium ssh` through the forward guest setup added. One boot for the
// whole group.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vivarium-vm/vivarium/internal/desktopguest"
	"github.com/vivarium-vm/vivarium/vm"
)

// cloudInitTimeout covers a first boot with cloud-init under TCG on a
// loaded two-core machine: measured here at 4–6 minutes until cloud-init
// is done.
const cloudInitTimeout = 12 * time.Minute

// setupVM is a VM of the desktop guest driven through the binary with a
// home folder of its own (so the SSH key is Vivarium's, not the machine's).
type setupVM struct {
	t          *testing.T
	bin        string
	home, lib  string
	name       string
	b          vm.Bundle
	share      string
	shareToken string
}

func (v *setupVM) run(timeout time.Duration, stdin string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(v.t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, v.bin, args...)
	cmd.Env = append(os.Environ(), "VIVARIUM_HOME="+v.lib, "HOME="+v.home)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func (v *setupVM) must(args ...string) string {
	v.t.Helper()
	out, errOut, err := v.run(3*time.Minute, "", args...)
	if err != nil {
		v.t.Fatalf("vivarium %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out + errOut
}

// ssh runs command in the guest through 'vivarium ssh'.
func (v *setupVM) ssh(timeout time.Duration, command ...string) (string, error) {
	out, errOut, err := v.run(timeout, "", append([]string{"ssh", v.name, "--"}, command...)...)
	if err != nil {
		return out, fmt.Errorf("vivarium ssh %s -- %s: %w: %s", v.name, strings.Join(command, " "), err, errOut)
	}
	return out, nil
}

func newSetupVM(t *testing.T, name string) *setupVM {
	t.Helper()
	g := desktopguest.Require(t)
	for _, tool := range []string{"ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s: %v; scripts/deps.sh installs openssh-client", tool, err)
		}
	}
	v := &setupVM{t: t, bin: vivariumBinary(t), home: t.TempDir(), lib: t.TempDir(), name: name, share: t.TempDir(),
		shareToken: fmt.Sprintf("from the host %d", time.Now().UnixNano())}
	if err := os.WriteFile(filepath.Join(v.share, "hello.txt"), []byte(v.shareToken+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v.must("create", "--kernel", g.Kernel, "--initrd", g.Initrd, "--cmdline", g.Cmdline(),
		"--import-disk", g.Image, "--disk", "0", "--memory", "1GiB", "--cpus", "2",
		"--share", v.share+":code", name)
	v.b = vm.Bundle{Dir: filepath.Join(v.lib, name+vm.BundleExt)}
	t.Cleanup(func() {
		if v.b.Locked() {
			v.run(time.Minute, "", "stop", "--force", name)
		}
		if t.Failed() {
			console, _ := os.ReadFile(v.b.ConsoleLogPath())
			runner, _ := os.ReadFile(v.b.RunnerLogPath())
			t.Logf("guest console (last 4000 bytes):\n%s\nrunner.log:\n%s", lastBytes(console, 4000), runner)
		}
	})
	return v
}

func TestCloudInitGuestSetsItselfUp(t *testing.T) {
	v := newSetupVM(t, "cloudy")
	out := v.must("guest-setup", "--user", "ana", v.name)
	m := regexp.MustCompile(`Added the port forward "(\d+):22"`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("guest-setup added no SSH forward to this QEMU VM on NAT:\n%s", out)
	}
	sshPort := m[1]
	if _, err := os.Stat(v.b.SeedPath()); err != nil {
		t.Fatalf("guest-setup attached no seed: %v", err)
	}

	start := time.Now()
	v.must("start", "--headless", v.name)
	deadline := start.Add(cloudInitTimeout)

	t.Run("ssh prints the VM's name through the forward", func(t *testing.T) {
		for {
			hostname, err := v.ssh(time.Minute, "cat", "/etc/hostname")
			if err == nil {
				if strings.TrimSpace(hostname) != v.name {
					t.Errorf("the guest's /etc/hostname = %q, want the VM's name %q", hostname, v.name)
				}
				t.Logf("vivarium ssh answered %.0f s after start", time.Since(start).Seconds())
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no SSH login %v after start: %v", cloudInitTimeout, err)
			}
			time.Sleep(5 * time.Second)
		}
		if out := strings.TrimSpace(v.must("ip", v.name)); out != "127.0.0.1:"+sshPort {
			t.Errorf("vivarium ip = %q, want the forward 127.0.0.1:%s", out, sshPort)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("cloud-init finishes without errors", func(t *testing.T) {
		out, err := v.ssh(time.Until(deadline), "cloud-init", "status", "--wait", "--long")
		t.Logf("cloud-init done %.0f s after start", time.Since(start).Seconds())
		if err != nil || !strings.Contains(out, "status: done") {
			t.Fatalf("cloud-init status: %v\n%s", err, out)
		}
	})

	t.Run("the share is mounted from fstab, read-write", func(t *testing.T) {
		out, err := v.ssh(time.Minute, "sh", "-c", "'cat /mnt/code/hello.txt; findmnt -n -o SOURCE,FSTYPE /mnt/code; systemctl show -P SourcePath mnt-code.mount'")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || lines[0] != v.shareToken || strings.Join(strings.Fields(lines[1]), " ") != "code 9p" || lines[2] != "/etc/fstab" {
			t.Errorf("in the guest: file, mount, unit source = %q; want %q, \"code 9p\", \"/etc/fstab\"", lines, v.shareToken)
		}
		if _, err := v.ssh(time.Minute, "sudo", "sh", "-c", "'echo from the guest >/mnt/code/back.txt'"); err != nil {
			t.Fatalf("writing the share as ana with sudo: %v", err)
		}
		if got, err := os.ReadFile(filepath.Join(v.share, "back.txt")); err != nil || string(got) != "from the guest\n" {
			t.Errorf("the guest's write reached the host as %q, %v", got, err)
		}
	})

	t.Run("the SPICE agent serves without a login session", func(t *testing.T) {
		out, err := v.ssh(time.Minute, "pgrep", "-a", "spice-vdagentd")
		if err != nil || !strings.Contains(out, "spice-vdagentd -X") {
			t.Errorf("spice-vdagentd runs as %q (%v), want it with -X", out, err)
		}
	})

	t.Run("the remote command's exit status comes back", func(t *testing.T) {
		_, err := v.ssh(time.Minute, "exit", "7")
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 7 {
			t.Errorf("vivarium ssh -- exit 7: %v, want exit status 7", err)
		}
	})

	t.Run("the script form sets up the same guest again, by hand", func(t *testing.T) {
		// A guest without cloud-init gets the same steps as a script; run
		// here as root through ssh. The VM keeps its host key, so ssh works
		// before the script runs and after it restarted the SSH server.
		script, errOut, err := v.run(time.Minute, "", "guest-setup", "--user", "ana", "--script", v.name)
		if err != nil || !strings.HasPrefix(script, "#!/bin/sh") {
			t.Fatalf("guest-setup --script: %v\n%s", err, errOut)
		}
		out, errOut, err := v.run(3*time.Minute, script, "ssh", v.name, "--", "sudo", "sh", "-s")
		if err != nil || !strings.Contains(out, "vivarium guest setup: done") {
			t.Fatalf("the script in the guest: %v\n%s%s", err, out, errOut)
		}
		hostname, err := v.ssh(time.Minute, "cat", "/etc/hostname")
		if err != nil || strings.TrimSpace(hostname) != v.name {
			t.Errorf("after the script: hostname %q, %v", hostname, err)
		}
		fstab, err := v.ssh(time.Minute, "grep", "-c", "' /mnt/code '", "/etc/fstab")
		if err != nil || strings.TrimSpace(fstab) != "1" {
			t.Errorf("after setting up twice, /etc/fstab has %q lines for /mnt/code, want 1 (%v)", fstab, err)
		}
	})

	t.Run("a guest with another host key is refused", func(t *testing.T) {
		data, err := os.ReadFile(v.b.GuestSetupPath())
		if err != nil {
			t.Fatal(err)
		}
		forged := regexp.MustCompile(`"host_key": "ssh-ed25519 [^"]+"`).ReplaceAll(data,
			[]byte(`"host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOl0yD4Bv8JHjvXlqmh4fYy6TbmLsDxpRp5dXq6jRbLp forged"`))
		if err := os.WriteFile(v.b.GuestSetupPath(), forged, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(v.b.GuestSetupPath(), data, 0o644)
		_, errOut, err := v.run(time.Minute, "", "ssh", v.name, "--", "true")
		if err == nil || !strings.Contains(errOut, "Host key verification failed") {
			t.Errorf("ssh into a guest whose host key is not the recorded one: %v %s", err, errOut)
		}
	})

	t.Run("polite stop", func(t *testing.T) {
		if out := v.must("stop", v.name); !strings.Contains(out, "the guest shut down") {
			t.Errorf("stop said %q", out)
		}
	})
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
