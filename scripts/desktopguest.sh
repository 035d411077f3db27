#!/usr/bin/env bash
# desktopguest.sh [-f|--force] [OUTDIR] — build Vivarium's desktop test guest:
# Debian 12 (bookworm) with Xorg, the SPICE agent, cloud-init and OpenSSH,
# from Debian's packages (debootstrap), for the real-desktop tests.
#
# Output, in OUTDIR (default: $VIVARIUM_DESKTOPGUEST_DIR, else
# ${XDG_CACHE_HOME:-$HOME/.cache}/vivarium/desktopguest):
#   vmlinuz     the guest's Debian kernel (bzImage, for -kernel)
#   initrd.img  its initramfs (virtio disk, ext4, 9p modules)
#   root.img    the root filesystem: a raw, sparse ext4 image (4 GiB) whose
#               filesystem UUID is fixed, so the kernel command line is
#               root=UUID=$ROOT_UUID (never /dev/vda: a cloud-init seed disk
#               may come first)
#   VERSION     "recipe <hash of this script>" then what went in; the build is
#               skipped while the files exist and the hash matches, so any
#               change to this recipe rebuilds the guest
# The images are sources: boot a copy (vm.CopyDisk), never root.img itself.
# Needs root (debootstrap, a chroot, file owners in the image) and Debian's
# archive through apt's configured mirror. A cold build takes a few minutes.
#
# The guest's contract (internal/desktopguest documents the same):
#   - systemd boots with the serial console on ttyS0; no display manager, no
#     login. Unneeded timers are off; the ACPI power button (a polite stop)
#     powers it off through systemd-logind; the root filesystem is unmounted
#     cleanly.
#   - vivarium-shares.service mounts every virtio-9p tag the VM offers at
#     /mnt/<tag> (9p2000.L), before the desktop starts.
#   - vivarium-desktop.service starts Xorg (modesetting on virtio-vga/-gpu)
#     on vt7 as root with a session that: paints the background, runs
#     spice-vdagent (spice-vdagentd runs with -X: no login session needed),
#     shows an xterm with the screen size and clipboard, follows the display's
#     preferred mode (the host's window size, hotplugged through virtio-gpu)
#     as desktop environments do, and, when the share
#     tag "desktop-report" is mounted, reports through it (files replaced
#     atomically):
#       ready      "ready" once X and the agent run
#       screen     the screen size as WIDTHxHEIGHT, on every change
#       clipboard  the CLIPBOARD selection's text, on every change
#       shares     one line per mounted 9p share: "<tag> <mountpoint> <file,...>"
#     and takes orders from it: a file "set-clipboard" put there becomes the
#     guest's CLIPBOARD text, and the session then deletes it.
#     Each report is also printed on the serial console as
#     "VIVARIUM-DESKTOP <name> <value>".
#   - cloud-init is installed with datasource_list [ NoCloud, ConfigDrive,
#     None ]: without a seed disk ("cidata" or "config-2") ds-identify finds
#     nothing and cloud-init stays off for that boot; with one it runs as
#     usual. The en_US.UTF-8 locale is generated.
#   - openssh-server is installed and enabled; systemd-networkd brings up
#     every en* interface with DHCP.
set -euo pipefail

RECIPE_VERSION=$(sha256sum <"${BASH_SOURCE[0]}" | cut -c1-16)
ROOT_UUID=6f1f6a4e-5d0e-4a8e-9c61-7669766172d1
SUITE=bookworm
IMAGE_SIZE=4G
GUEST_PACKAGES=(systemd-sysv udev dbus kmod iproute2 netbase procps
	linux-image-amd64 initramfs-tools zstd
	xserver-xorg-core xserver-xorg-input-libinput xinit x11-xserver-utils
	xclip xterm xfonts-base fonts-dejavu-core spice-vdagent
	cloud-init openssh-server sudo)
HOST_PACKAGES=(debootstrap e2fsprogs)

die() {
	echo "desktopguest: $*" >&2
	exit 1
}
log() { echo "desktopguest: $*" >&2; }

force=0
outdir=
owner= # --owner UID:GID: who gets the files when built through sudo
while (($#)); do
	case $1 in
	-f | --force) force=1 ;;
	--owner)
		owner=${2:-}
		[[ $owner =~ ^[0-9]+:[0-9]+$ ]] || die "--owner takes UID:GID"
		shift
		;;
	-h | --help)
		sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
		exit 0
		;;
	-*) die "unknown option $1 (usage: $0 [-f|--force] [OUTDIR])" ;;
	*)
		[[ -z $outdir ]] || die "one OUTDIR only (usage: $0 [-f|--force] [OUTDIR])"
		outdir=$1
		;;
	esac
	shift
done
outdir=${outdir:-${VIVARIUM_DESKTOPGUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vivarium/desktopguest}}

is_cached() {
	[[ -s $outdir/vmlinuz && -s $outdir/initrd.img && -s $outdir/root.img && -f $outdir/VERSION ]] &&
		[[ $(head -n 1 "$outdir/VERSION") == "recipe $RECIPE_VERSION" ]]
}

if ((!force)) && is_cached; then
	exit 0
fi
mkdir -p "$outdir" || die "cannot create $outdir: set VIVARIUM_DESKTOPGUEST_DIR or pass OUTDIR"
if [[ $(id -u) != 0 ]]; then
	# debootstrap and the chroot need root: CI machines and most developers'
	# have sudo without a password; the files then belong to the caller.
	if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		log "building as root through sudo"
		args=(--owner "$(id -u):$(id -g)")
		((!force)) || args+=(-f)
		exec sudo -n env PATH="$PATH" bash "${BASH_SOURCE[0]}" "${args[@]}" "$(realpath "$outdir")"
	fi
	die "building the desktop guest needs root (debootstrap and chroot): run 'sudo make desktopguest' once; later runs use the cache in $outdir"
fi
# Several test binaries may ask for the guest at once: one builds, the others
# wait here and then find it cached.
exec 9>"$outdir/.lock"
flock 9
if ((!force)) && is_cached; then
	exit 0
fi

start=$SECONDS
[[ -r /etc/debian_version ]] && command -v apt-get >/dev/null ||
	die "this recipe builds the guest with Debian's debootstrap; run it on Debian or copy a built $outdir here"
export PATH=$PATH:/usr/sbin:/sbin

missing=()
for p in "${HOST_PACKAGES[@]}"; do
	[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
		{ apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; } ||
		die "apt-get install ${missing[*]} failed"
fi

# The mirror apt already uses for Debian's main archive (deb822 or one-line).
mirror=$(
	{
		cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { print $2 }'
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; break } }'
	} | grep -v -e security -e '^$' | grep -m 1 -i debian || true
)
mirror=${mirror:-http://deb.debian.org/debian}

# Work beside the output (the root tree is ~1.5 GB, too much for a small
# tmpfs /tmp, and the results then move into place by rename). Holding the
# lock, an earlier work directory is a killed build's leftover.
cleanup_work() {
	local w
	for w in "$outdir"/.build.*; do
		[[ -d $w ]] || continue
		for m in dev/pts dev proc sys; do
			if mountpoint -q "$w/rootfs/$m"; then umount -l "$w/rootfs/$m"; fi
		done
		rm -rf --one-file-system "$w"
	done
}
cleanup_work
work=$(mktemp -d "$outdir/.build.XXXXXX")
trap cleanup_work EXIT
root=$work/rootfs

log "debootstrap $SUITE from $mirror (a few minutes)"
# No kernel postinst hooks may run before /etc/initramfs-tools is set up:
# install the base first, configure, then add the packages.
debootstrap --variant=minbase --components=main \
	--include=systemd-sysv,udev,dbus,kmod,initramfs-tools,zstd \
	"$SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
	{ tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap $SUITE from $mirror failed (log above): check the network and apt's mirror"; }

# A small initramfs: only what finds and mounts the root disk.
cat >"$root/etc/initramfs-tools/conf.d/vivarium" <<'EOF'
MODULES=list
COMPRESS=zstd
EOF
printf '%s\n' virtio_pci virtio_blk virtio_scsi ext4 crc32c_generic >>"$root/etc/initramfs-tools/modules"
# Documentation and translations are not needed in a test guest.
cat >"$root/etc/dpkg/dpkg.cfg.d/vivarium-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
# Packages' services must not start inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $SUITE main
EOF

mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
in_root() { LC_ALL=C DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"; }
log "installing ${#GUEST_PACKAGES[@]} packages into the guest"
in_root apt-get install -y -q --no-install-recommends "${GUEST_PACKAGES[@]}" >"$work/apt.log" 2>&1 ||
	{ tail -n 30 "$work/apt.log" >&2; die "apt-get install in the guest failed (log above)"; }
in_root apt-get clean
kver=$(in_root dpkg-query -W -f='${Depends}' linux-image-amd64 | grep -o 'linux-image-[0-9][^ ,]*' | head -n 1)
kver=${kver#linux-image-}
[[ -n $kver ]] || die "cannot tell the guest's kernel version from linux-image-amd64"
[[ -s $root/boot/vmlinuz-$kver && -s $root/boot/initrd.img-$kver ]] ||
	in_root update-initramfs -c -k "$kver" >&2 || die "update-initramfs for $kver failed"
for m in dev/pts dev proc sys; do umount "$root/$m"; done
rm -f "$root/usr/sbin/policy-rc.d"

log "configuring the guest"
echo vivarium-desktop >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tvivarium-desktop\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
cat >"$root/etc/fstab" <<EOF
UUID=$ROOT_UUID / ext4 rw,errors=remount-ro 0 0
EOF
# Each copy of the image gets its own machine id on its first boot.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

# cloud-init: only the datasources that read a local disk (NoCloud's
# "cidata", ConfigDrive's "config-2"), none that probes the network, and
# None as the fallback once one was found. Two real ones, not one: ds-identify
# (which decides at boot whether cloud-init runs at all) takes a list of one
# datasource plus None as found without looking, and cloud-init would then
# run every boot on the fallback (~20 s under emulation, new host keys). With
# two it looks, and without a seed disk cloud-init stays off that boot.
cat >"$root/etc/cloud/cloud.cfg.d/05_vivarium.cfg" <<'EOF'
datasource_list: [ NoCloud, ConfigDrive, None ]
EOF
# The locale cloud-init sets by default, so its locale step succeeds.
echo 'en_US.UTF-8 UTF-8' >"$root/etc/locale.gen"
LC_ALL=C chroot "$root" locale-gen >/dev/null 2>&1 || die "locale-gen in the guest failed"
echo 'LANG=en_US.UTF-8' >"$root/etc/default/locale"

# Networking without cloud-init: DHCP on every ethernet interface.
cat >"$root/etc/systemd/network/80-vivarium-dhcp.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
DHCP=yes
EOF

# spice-vdagentd normally serves only agents in a logind session; the
# desktop here runs without one.
echo 'SPICE_VDAGENTD_EXTRA_ARGS=-X' >"$root/etc/default/spice-vdagentd"

cat >"$root/usr/local/sbin/vivarium-shares" <<'EOF'
#!/bin/sh
# Mounts every virtio-9p tag the VM offers at /mnt/<tag>.
for f in /sys/bus/virtio/drivers/9pnet_virtio/virtio*/mount_tag; do
	[ -r "$f" ] || continue
	tag=$(tr -d '\000' <"$f")
	[ -n "$tag" ] || continue
	mountpoint -q "/mnt/$tag" && continue
	mkdir -p "/mnt/$tag"
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 "$tag" "/mnt/$tag" ||
		echo "vivarium-shares: mounting 9p share $tag at /mnt/$tag failed" >&2
done
exit 0
EOF
cat >"$root/etc/systemd/system/vivarium-shares.service" <<'EOF'
[Unit]
Description=Mount the VM's shared folders at /mnt/<tag>
After=systemd-udev-settle.service systemd-modules-load.service local-fs.target
Wants=systemd-modules-load.service
Before=vivarium-desktop.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStartPre=-/sbin/modprobe -a 9pnet_virtio 9p
ExecStart=/usr/local/sbin/vivarium-shares

[Install]
WantedBy=multi-user.target
EOF

cat >"$root/usr/local/bin/vivarium-session" <<'EOF'
#!/bin/sh
# The X session of Vivarium's desktop test guest (see scripts/desktopguest.sh).
report=/mnt/desktop-report
mountpoint -q "$report" || report=

xsetroot -solid '#31587a' -cursor_name left_ptr
spice-vdagent -x &
xterm -geometry 58x9+40+40 -fa 'DejaVu Sans Mono' -fs 12 -bg '#fdf6e3' -fg '#073642' \
	-title 'Vivarium desktop guest' -e /usr/local/bin/vivarium-status &

say() { # say NAME VALUE: the serial console and, with a report share, a file
	printf 'VIVARIUM-DESKTOP %s %s\n' "$1" "$(printf '%s' "$2" | tr '\n' ' ' | cut -c1-200)" >/dev/ttyS0 2>/dev/null
	echo "$1: $2" >/run/vivarium-desktop.$1
	[ -n "$report" ] || return 0
	printf '%s' "$2" >"$report/.$1.tmp" && mv -f "$report/.$1.tmp" "$report/$1"
}

shares=$(awk '$3 == "9p" { print $1, $2 }' /proc/mounts | while read -r tag dir; do
	printf '%s %s %s\n' "$tag" "$dir" "$(ls -A "$dir" | tr '\n' ',' | sed 's/,$//')"
done)
say shares "$shares"
say ready ready

# follow_preferred: when the host changes the display's preferred mode (the
# VM window was resized: virtio-gpu hotplugs the new size), switch to it, as
# GNOME or KDE do; a mode a person picks by hand stays until the next change.
preferred=
follow_preferred() {
	p=$(printf '%s\n' "$1" | awk '/ connected/ { out = $1; next } /^[^ ]/ { out = "" }
		out != "" && $1 ~ /^[0-9]+x[0-9]+$/ && /\+/ { print out, $1; exit }')
	[ -n "$p" ] && [ "$p" != "$preferred" ] || return 0
	preferred=$p
	xrandr --output "${p% *}" --mode "${p#* }" 2>/dev/null || true
}

screen= clip=
while :; do
	out=$(xrandr --current 2>/dev/null)
	follow_preferred "$out"
	s=$(printf '%s\n' "$out" | sed -n 's/.*current \([0-9]*\) x \([0-9]*\).*/\1x\2/p')
	if [ -n "$s" ] && [ "$s" != "$screen" ]; then
		screen=$s
		say screen "$s"
	fi
	if [ -n "$report" ] && [ -f "$report/set-clipboard" ]; then
		xclip -selection clipboard -i <"$report/set-clipboard"
		rm -f "$report/set-clipboard"
	fi
	c=$(timeout 2 xclip -selection clipboard -o 2>/dev/null) || c=$clip
	if [ "$c" != "$clip" ]; then
		clip=$c
		say clipboard "$c"
	fi
	sleep 0.2
done
EOF
cat >"$root/usr/local/bin/vivarium-status" <<'EOF'
#!/bin/sh
# What the xterm on the desktop shows: the guest's view of size and clipboard.
while :; do
	clear
	echo "Vivarium desktop guest"
	echo "Debian 12, Xorg, spice-vdagent"
	echo
	cat /run/vivarium-desktop.screen /run/vivarium-desktop.clipboard 2>/dev/null | cut -c1-56
	sleep 1
done
EOF
chmod 0755 "$root/usr/local/sbin/vivarium-shares" "$root/usr/local/bin/vivarium-session" "$root/usr/local/bin/vivarium-status"

cat >"$root/etc/systemd/system/vivarium-desktop.service" <<'EOF'
[Unit]
Description=Vivarium desktop session (Xorg on vt7, no display manager)
After=systemd-user-sessions.service vivarium-shares.service spice-vdagentd.service
Wants=vivarium-shares.service
Conflicts=getty@tty7.service

[Service]
Environment=LANG=en_US.UTF-8
ExecStart=/usr/bin/xinit /usr/local/bin/vivarium-session -- /usr/lib/xorg/Xorg :0 vt7 -keeptty -nolisten tcp -novtswitch
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
EOF

in_root systemctl enable vivarium-shares.service vivarium-desktop.service systemd-networkd.service ssh.service >/dev/null 2>&1 ||
	die "systemctl enable in the guest failed"
# Quiet and quick under emulation: no periodic jobs, no first-boot prompts.
in_root systemctl mask systemd-firstboot.service apt-daily.timer apt-daily-upgrade.timer \
	e2scrub_all.timer e2scrub_reap.service fstrim.timer systemd-networkd-wait-online.service \
	getty@tty1.service >/dev/null 2>&1 || true
# The root account is locked (no password); cloud-init adds a person's user.
rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/*_Packages

log "making the ext4 image"
cp "$root/boot/vmlinuz-$kver" "$work/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$work/initrd.img"
truncate -s "$IMAGE_SIZE" "$work/root.img"
mkfs.ext4 -q -F -L vivarium-root -U "$ROOT_UUID" -E root_owner=0:0 -d "$root" "$work/root.img" ||
	die "mkfs.ext4 -d of the guest's root failed"
e2fsck -fn "$work/root.img" >/dev/null 2>&1 || die "the new root image does not check clean"

rm -f "$outdir/VERSION"
mv -f "$work/vmlinuz" "$outdir/vmlinuz"
mv -f "$work/initrd.img" "$outdir/initrd.img"
mv -f "$work/root.img" "$outdir/root.img"
{
	echo "recipe $RECIPE_VERSION"
	echo "root UUID=$ROOT_UUID"
	echo "kernel $kver"
	echo "suite $SUITE from $mirror"
	echo "packages ${GUEST_PACKAGES[*]}"
} >"$work/VERSION"
mv -f "$work/VERSION" "$outdir/VERSION"
[[ -z $owner ]] || chown "$owner" "$outdir" "$outdir"/{vmlinuz,initrd.img,root.img,VERSION,.lock}
log "built $outdir (kernel $kver, $(du -sh --apparent-size "$outdir/root.img" | cut -f1) image, $(du -sh "$outdir/root.img" | cut -f1) used) in $((SECONDS - start)) s"
