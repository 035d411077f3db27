package guestsetup

import (
	"fmt"
	"path"
	"strings"
)

// Script is the whole setup as one POSIX shell script, for guests without
// cloud-init: run it as root in the guest. It does what the seed does —
// hostname, user and SSH key, SSH host key, then ConfigureScript's steps —
// and changes nothing when run again.
func (p *Plan) Script() string {
	var w scriptWriter
	w.line("#!/bin/sh")
	w.line("# Vivarium guest setup for the VM %s. Run it as root in the guest", shellQuote(p.VMName))
	w.line("# (for example: sudo sh vivarium-setup.sh). Running it again changes nothing.")
	w.line("set -u")
	w.line(`[ "$(id -u)" = 0 ] || { echo "vivarium guest setup: run this as root (sudo sh $0)" >&2; exit 1; }`)
	w.blank()
	writePrelude(&w)
	w.blank()
	p.writeIdentity(&w)
	w.blank()
	p.writeConfigure(&w)
	return w.String()
}

// Configure is the script cloud-init runs (as ConfigureScript) after it
// made the user, the hostname and the SSH host key: packages, shares,
// SPICE agent, Rosetta.
func (p *Plan) Configure() string {
	var w scriptWriter
	w.line("#!/bin/sh")
	w.line("# Vivarium guest setup for the VM %s: packages, shared folders, SPICE agent,", shellQuote(p.VMName))
	w.line("# Rosetta. cloud-init runs it once per seed; running it again changes nothing.")
	w.line("set -u")
	w.blank()
	writePrelude(&w)
	w.blank()
	p.writeConfigure(&w)
	return w.String()
}

// writePrelude defines the helpers both scripts use.
func writePrelude(w *scriptWriter) {
	w.line("say() { echo \"vivarium guest setup: $*\"; }")
	w.line("have() { command -v \"$1\" >/dev/null 2>&1 || [ -x \"/usr/sbin/$1\" ] || [ -x \"/sbin/$1\" ]; }")
	w.line("systemd=; [ -d /run/systemd/system ] && systemd=1")
}

// writeIdentity writes what cloud-init's own modules do for the seed: the
// hostname, the user with the SSH key, and the SSH host key.
func (p *Plan) writeIdentity(w *scriptWriter) {
	h := shellQuote(p.Hostname)
	w.line("# The VM's name as the hostname.")
	w.line("hostnamectl set-hostname %s 2>/dev/null || { echo %s >/etc/hostname; hostname %s; }", h, h, h)
	w.line("if grep -q '^127\\.0\\.1\\.1[[:space:]]' /etc/hosts; then")
	w.line("\tsed -i 's/^127\\.0\\.1\\.1[[:space:]].*/127.0.1.1\\t'%s'/' /etc/hosts", h)
	w.line("else")
	w.line("\tprintf '127.0.1.1\\t%%s\\n' %s >>/etc/hosts", h)
	w.line("fi")
	w.blank()
	u, key := shellQuote(p.Person.User), shellQuote(p.Person.AuthorizedKey)
	w.line("# The user, who logs in with their SSH key and uses sudo without a password")
	w.line("# (they have none; set one with: sudo passwd %s).", p.Person.User)
	w.line("if ! id %s >/dev/null 2>&1; then", u)
	w.line("\tuseradd -m -s /bin/bash %s 2>/dev/null || adduser -D -s /bin/sh %s || say 'could not add the user'", u, u)
	w.line("fi")
	w.line("home=$(getent passwd %s | cut -d: -f6)", u)
	w.line("group=$(id -gn %s)", u)
	w.line("mkdir -p \"$home/.ssh\" && chmod 700 \"$home/.ssh\"")
	w.line("grep -qxF %s \"$home/.ssh/authorized_keys\" 2>/dev/null || echo %s >>\"$home/.ssh/authorized_keys\"", key, key)
	w.line("chmod 600 \"$home/.ssh/authorized_keys\" && chown -R %s:\"$group\" \"$home/.ssh\"", u)
	w.line("mkdir -p /etc/sudoers.d && echo %s >/etc/sudoers.d/90-vivarium && chmod 440 /etc/sudoers.d/90-vivarium",
		shellQuote(p.Person.User+" ALL=(ALL) NOPASSWD:ALL"))
	w.blank()
	w.line("# The SSH host key Vivarium made, so 'vivarium ssh' knows this guest.")
	w.line("mkdir -p /etc/ssh")
	w.heredoc("/etc/ssh/ssh_host_ed25519_key", p.HostKey.Private, "0600")
	w.heredoc("/etc/ssh/ssh_host_ed25519_key.pub", p.HostKey.Public+"\n", "0644")
}

// writeConfigure writes the steps cloud-init has no module for.
func (p *Plan) writeConfigure(w *scriptWriter) {
	w.line("# Packages, installed only when missing.")
	w.line("missing=")
	for _, pkg := range p.Packages {
		w.line("have %s || missing=\"$missing %s\"", shellQuote(pkg.Program), pkg.Name)
	}
	w.line("if [ -n \"$missing\" ]; then")
	w.line("\tsay \"installing$missing\"")
	// confold: keep config files already there (cloud-init writes
	// /etc/sudoers before sudo is installed), never ask.
	w.line("\tif have apt-get; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $missing")
	w.line("\telif have dnf; then dnf install -y $missing")
	w.line("\telif have zypper; then zypper --non-interactive install $missing")
	w.line("\telif have pacman; then pacman -S --noconfirm --needed $(echo $missing | sed 's/openssh-server/openssh/')")
	w.line("\telif have apk; then apk add $(echo $missing | sed 's/openssh-server/openssh/')")
	w.line("\telse false; fi || say \"could not install$missing; install it with the guest's package manager\"")
	w.line("fi")
	for _, f := range p.Files {
		w.blank()
		dir := path.Dir(f.Path)
		if dir == "/etc/sysconfig" {
			// Fedora's place; other distributions do not read it.
			w.line("if [ -d /etc/sysconfig ]; then")
			w.heredoc(f.Path, f.Content, f.Mode)
			w.line("fi")
			continue
		}
		w.line("mkdir -p %s", shellQuote(dir))
		w.heredoc(f.Path, f.Content, f.Mode)
	}
	if len(p.Modules) > 0 {
		w.line("modprobe -a %s 2>/dev/null || true", strings.Join(p.Modules, " "))
	}
	if len(p.Mounts) > 0 {
		w.blank()
		w.line("# Shared folders in /etc/fstab, mounted at every boot; a line for the same")
		w.line("# mount point is replaced.")
		for _, m := range p.Mounts {
			t := shellQuote(m.Target)
			w.line("mkdir -p %s", t)
			w.line("awk -v t=%s '$2 != t' /etc/fstab >/etc/fstab.vivarium && echo %s >>/etc/fstab.vivarium &&", t, shellQuote(m.Line()))
			w.line("\tchmod 644 /etc/fstab.vivarium && mv /etc/fstab.vivarium /etc/fstab")
		}
		w.line("[ -n \"$systemd\" ] && systemctl daemon-reload")
		for _, m := range p.Mounts {
			t := shellQuote(m.Target)
			w.line("mountpoint -q %s || mount %s || say %s", t, t, shellQuote("could not mount "+m.Target+" now; it is tried at every boot"))
		}
	}
	if p.Rosetta {
		w.blank()
		w.line("# Rosetta for x86_64 programs, registered at every boot by systemd-binfmt.")
		w.line("if [ -n \"$systemd\" ]; then systemctl restart systemd-binfmt.service")
		w.line("elif [ ! -e /proc/sys/fs/binfmt_misc/rosetta ]; then printf '%%s\\n' %s >/proc/sys/fs/binfmt_misc/register; fi ||", shellQuote(RosettaBinfmt()))
		w.line("\tsay 'could not register Rosetta; is it installed on the Mac (vivarium rosetta install)?'")
	}
	w.blank()
	w.line("# Services: SSH for 'vivarium ssh'%s.", map[bool]string{true: ", the SPICE agent for the clipboard", false: ""}[p.SPICE])
	w.line("if [ -n \"$systemd\" ]; then")
	w.line("\tsystemctl enable ssh.service 2>/dev/null || systemctl enable sshd.service 2>/dev/null")
	w.line("\tsystemctl restart ssh.service 2>/dev/null || systemctl restart sshd.service 2>/dev/null || say 'could not start the SSH server'")
	if p.SPICE {
		w.line("\tsystemctl enable spice-vdagentd.socket spice-vdagentd.service 2>/dev/null")
		w.line("\tsystemctl restart spice-vdagentd.service 2>/dev/null || true")
	}
	w.line("fi")
	w.line("say done")
}

type scriptWriter struct{ b strings.Builder }

func (w *scriptWriter) line(format string, args ...any) {
	fmt.Fprintf(&w.b, format, args...)
	w.b.WriteByte('\n')
}

func (w *scriptWriter) blank() { w.b.WriteByte('\n') }

// heredoc writes content to file with mode, through a quoted here-document
// (nothing in it is expanded) and a rename, so a reader never sees half.
func (w *scriptWriter) heredoc(file, content, mode string) {
	if !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	end := "VIVARIUM_EOF"
	for strings.Contains(content, end) {
		end += "_"
	}
	tmp := shellQuote(file + ".vivarium")
	w.line("cat >%s <<'%s'", tmp, end)
	w.b.WriteString(content)
	w.line("%s", end)
	w.line("chmod %s %s && mv %s %s", mode, tmp, tmp, shellQuote(file))
}

func (w *scriptWriter) String() string { return w.b.String() }

// shellQuote quotes s for a POSIX shell: nothing inside is expanded.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
