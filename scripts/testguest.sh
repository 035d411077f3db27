#!/usr/bin/env bash
# testguest.sh [-f|--force] [OUTDIR] — build Vivarium's tiny real test guest.
#
# Output, in OUTDIR (default: $VIVARIUM_TESTGUEST_DIR, else
# ${XDG_CACHE_HOME:-$HOME/.cache}/vivarium/testguest):
#   vmlinux     Debian's kernel (the version linux-image-amd64 depends on), as
#               the uncompressed ELF that QEMU boots directly (PVH) on -M q35
#   initrd.img  a busybox-static initramfs (newc cpio, uncompressed) holding
#               /init and only the modules the guest needs
#   VERSION     "recipe <hash of this script>" then what went in; the build
#               is skipped while the three files exist and the hash matches, so
#               any change to this recipe rebuilds the guest
# Works on a fresh Debian bookworm machine as root (installs what it lacks with
# apt-get); as another user it works once those packages are installed.
#
# The guest's /init contract (the Go side documents the same in
# internal/testguest):
#   - mounts /proc, /sys, /dev (devtmpfs); loads, in dependency order,
#     virtio_mmio virtio_pci virtio_blk virtio_console 9pnet_virtio 9p
#     virtio_net ext4 button evdev virtio_gpu (the DRM modules under
#     virtio_gpu put the text console on a virtio-vga/virtio-gpu screen).
#   - runs busybox `acpid -c /etc/acpi`. There is no /proc/acpi/event on this
#     kernel, so acpid reads the power button's evdev (/dev/input/eventN, from
#     the button and evdev modules) and maps KEY_POWER to the executable
#     /etc/acpi/PWRF/00000080, which runs `poweroff -f`: QMP system_powerdown
#     (or a polite stop) powers the guest off.
#   - vivarium.shares=tag1,tag2 on the kernel command line: mounts each 9p tag
#     at /mnt/<tag> (mount -t 9p -o trans=virtio,version=9p2000.L).
#   - prints VIVARIUM-GUEST-READY on the serial console (ttyS0, 115200; the
#     command line has console=ttyS0 last) once modules are loaded and shares
#     mounted.
#   - vivarium.actions=a1,a2,... runs the actions in order; each prints exactly
#     one line "VIVARIUM-RESULT <action> <ok|fail> <detail>":
#       share-write:<tag>  writes "hello from guest" to /mnt/<tag>/from-guest.txt
#       disk-write:<text>  writes <text>, a newline and NUL padding to a
#                          512-byte sector at offset 0 of /dev/vda, then syncs
#       disk-read          detail: the first line of /dev/vda
#       ports              detail: virtio-serial port names, comma-separated
#                          (from /sys/class/virtio-ports/vport*/name)
#       poweroff           powers off now (poweroff -f)
#       tmpfs-write:<name> writes <name> into /tmp, a tmpfs (lives in memory only)
#       tmpfs-rm:<name>    removes /tmp/<name>
#       files              detail: the names in /tmp, comma-separated, sorted
#       uptime             detail: "<boot id> <seconds since boot>"
#     A failed action says why in <detail>, e.g. a read-only share's error.
#   - vivarium.control=HOST:PORT (with a NAT network: 10.0.2.2 is the host's
#     127.0.0.1): after the idle marker, the guest brings eth0 up (10.0.2.15)
#     and polls http://HOST:PORT/next for one more action at a time, runs
#     it (printing its result line as above) and POSTs that line to
#     http://HOST:PORT/result; an empty answer means nothing to do yet.
#   - markers and results also go to tty0, so a screenshot shows them.
#   - then prints VIVARIUM-GUEST-IDLE and idles in a shell-less loop, acpid
#     still running (vivarium.shell=1 gives a root shell on the console
#     instead, for people poking at the guest by hand).
set -euo pipefail

# The recipe's version is this script's content: no version to forget to bump.
# (shasum on macOS, where a guest built on Linux is copied into the cache.)
RECIPE_VERSION=$({ sha256sum 2>/dev/null || shasum -a 256; } <"${BASH_SOURCE[0]}" | cut -c1-16)
MODULES=(virtio_mmio virtio_pci virtio_blk virtio_console 9pnet_virtio 9p
	virtio_net ext4 button evdev virtio_gpu)
HOST_PACKAGES=(qemu-system-x86 qemu-utils busybox-static kmod cpio xz-utils)

die() {
	echo "testguest: $*" >&2
	exit 1
}
log() { echo "testguest: $*" >&2; }

force=0
outdir=
while (($#)); do
	case $1 in
	-f | --force) force=1 ;;
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
outdir=${outdir:-${VIVARIUM_TESTGUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vivarium/testguest}}

is_cached() {
	[[ -s $outdir/vmlinux && -s $outdir/initrd.img && -f $outdir/VERSION ]] &&
		[[ $(head -n 1 "$outdir/VERSION") == "recipe $RECIPE_VERSION" ]]
}

if ((!force)) && is_cached; then
	exit 0
fi
mkdir -p "$outdir" || die "cannot create $outdir: set VIVARIUM_TESTGUEST_DIR or pass OUTDIR"
# Several test binaries may ask for the guest at once: one builds, the others
# wait here and then find it cached.
exec 9>"$outdir/.lock"
flock 9
if ((!force)) && is_cached; then
	exit 0
fi

start=$SECONDS
[[ -r /etc/debian_version ]] && command -v apt-get >/dev/null ||
	die "this recipe takes Debian's kernel and busybox-static through apt-get; run it on Debian (bookworm) or copy a built $outdir here"

pkg_installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

apt_updated=0
apt_update() {
	((apt_updated)) && return 0
	[[ $(id -u) == 0 ]] || return 1
	log "apt-get update"
	apt-get update -qq >&2 || die "apt-get update failed: check the network and /etc/apt/sources.list"
	apt_updated=1
}

missing=()
for p in "${HOST_PACKAGES[@]}"; do
	pkg_installed "$p" || missing+=("$p")
done
bundled_busybox=0
if ((${#missing[@]})) && pkg_installed busybox && [[ " ${missing[*]} " == *" busybox-static "* ]]; then
	# busybox-static conflicts with the installed busybox: leave the host
	# alone and take the static binary out of its package instead.
	bundled_busybox=1
	missing=("${missing[@]/busybox-static/}")
	read -r -a missing <<<"${missing[*]}"
fi
if ((${#missing[@]})); then
	[[ $(id -u) == 0 ]] || die "missing packages ${missing[*]}: run 'sudo apt-get install --no-install-recommends ${missing[*]}' (or run this script as root)"
	for p in "${missing[@]}"; do
		apt-cache show "$p" >/dev/null 2>&1 || apt_update
	done
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
		die "apt-get install ${missing[*]} failed"
fi
export PATH=$PATH:/usr/sbin:/sbin

# Work beside the output (the unpacked kernel package is ~400 MB, too much
# for a small tmpfs /tmp, and the results then move into place by rename).
# Holding the lock, any earlier work directory is a killed build's leftover.
rm -rf "$outdir"/.build.*
work=$(mktemp -d "$outdir/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/dl"
# As root apt downloads as the _apt user, who cannot write under root's home
# (apt then warns and downloads as root anyway): say so up front.
apt_dl_opts=()
[[ $(id -u) != 0 ]] || apt_dl_opts=(-o APT::Sandbox::User=root)

kernel_package() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

download() { # download PACKAGE: fetch its .deb into $work/dl
	(cd "$work/dl" && apt-get download -qq "${apt_dl_opts[@]}" "$1" >&2)
}
refresh_lists() { # after a failed download: stale package lists name files the mirror no longer has
	apt_update || die "apt-get download $1 failed and updating the package lists needs root: run 'sudo apt-get update'"
}

kpkg=$(kernel_package)
if [[ -z $kpkg ]]; then
	apt_update || true
	kpkg=$(kernel_package)
fi
[[ -n $kpkg ]] || die "apt-cache knows no linux-image-amd64: add Debian's main archive to /etc/apt/sources.list"
if ! download "$kpkg" 2>/dev/null; then
	refresh_lists "$kpkg"
	kpkg=$(kernel_package)
	download "$kpkg" || die "apt-get download $kpkg failed: check the network and /etc/apt/sources.list"
fi
kver=${kpkg#linux-image-}
log "kernel $kpkg"
kroot=$work/kernel
dpkg-deb -x "$work"/dl/"$kpkg"_*.deb "$kroot" || die "dpkg-deb -x $kpkg failed"

# vmlinuz is a small decompressor plus an xz stream; the ELF inside boots
# straight away (PVH), about 2.7 s faster per boot under TCG.
vmlinuz=$kroot/boot/vmlinuz-$kver
[[ -f $vmlinuz ]] || die "$kpkg has no /boot/vmlinuz-$kver"
offset=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -n 1 | cut -d: -f1)
[[ -n $offset ]] || die "no xz stream in $vmlinuz: this recipe expects Debian's xz-compressed x86 kernel"
tail -c +$((offset + 1)) "$vmlinuz" >"$work/vmlinux.xz"
# --single-stream: stop at the end of the stream, ignoring what follows it.
xz -dcq --single-stream "$work/vmlinux.xz" >"$work/vmlinux" ||
	die "decompressing the xz stream of $vmlinuz failed"
[[ $(head -c 4 "$work/vmlinux" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]] ||
	die "the kernel extracted from $vmlinuz is not an ELF file"

# Modules, with their dependencies (and softdeps such as crc32c), in load order.
depmod -b "$kroot" "$kver" || die "depmod on $kpkg failed"
rootfs=$work/rootfs
moddir=$rootfs/lib/modules/$kver
mkdir -p "$moddir"
: >"$moddir/load-order"
for m in "${MODULES[@]}"; do
	deps=$(modprobe -d "$kroot" -S "$kver" --show-depends "$m") ||
		die "module $m is not in $kpkg"
	while read -r kind path _; do
		[[ $kind == insmod ]] || continue # "builtin NAME": nothing to load
		name=${path##*/}
		name=${name%.xz} # newer Debian kernels ship .ko.xz: store them plain
		grep -qxF "$name" "$moddir/load-order" && continue
		case $path in
		*.ko) cp "$path" "$moddir/$name" ;;
		*.ko.xz) xz -dc "$path" >"$moddir/$name" ;;
		*) die "module $path: unsupported compression" ;;
		esac
		echo "$name" >>"$moddir/load-order"
	done <<<"$deps"
done

busybox=/bin/busybox
if ((bundled_busybox)); then
	if ! download busybox-static 2>/dev/null; then
		refresh_lists busybox-static
		download busybox-static || die "apt-get download busybox-static failed: check the network and /etc/apt/sources.list"
	fi
	dpkg-deb -x "$work"/dl/busybox-static_*.deb "$work/busybox"
	busybox=$work/busybox/bin/busybox
fi
[[ -x $busybox ]] || die "$busybox is missing: install busybox-static"
mkdir -p "$rootfs"/{bin,sbin,etc/acpi/PWRF,proc,sys,dev,mnt,tmp,run,var/log}
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
	[[ $applet == busybox ]] || ln -sf busybox "$rootfs/bin/$applet"
done

cat >"$rootfs/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
# busybox acpid runs this for the ACPI power button (KEY_POWER on the evdev).
echo "vivarium: power button: powering off" >/dev/console
exec vivarium-poweroff
EOF
cat >"$rootfs/bin/vivarium-poweroff" <<'EOF'
#!/bin/sh
# Let go of the framebuffer console first: fbcon drawing the last kernel
# messages after virtio-gpu was reset prints a kernel WARNING at power-off.
for v in /sys/class/vtconsole/vtcon*; do
	grep -qs "frame buffer" "$v/name" && echo 0 >"$v/bind"
done
sync
poweroff -f
EOF
chmod 0755 "$rootfs/etc/acpi/PWRF/00000080" "$rootfs/bin/vivarium-poweroff"

cat >"$rootfs/init" <<'EOF'
#!/bin/sh
# Vivarium test guest init: see scripts/testguest.sh for the contract.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts

# say prints a line on the serial console and, when there is one, the screen.
say() {
	echo "$*"
	echo "$*" 2>/dev/null >/dev/tty0
}

kver=$(uname -r)
while read -r ko; do
	err=$(insmod "/lib/modules/$kver/$ko" 2>&1) || case $err in
	*exists*) ;;
	*) case $ko in
		# needs SSE4.2, which TCG's default CPU lacks; crc32c_generic serves
		crc32c-intel.ko) ;;
		*) echo "vivarium: insmod $ko: $err" ;;
		esac ;;
	esac
done <"/lib/modules/$kver/load-order"

set -f
for arg in $(cat /proc/cmdline); do
	case $arg in
	vivarium.shares=*) shares=${arg#*=} ;;
	vivarium.actions=*) actions=${arg#*=} ;;
	vivarium.shell=*) shell=${arg#*=} ;;
	vivarium.control=*) control=${arg#*=} ;;
	esac
done
# /tmp is a tmpfs: what the actions write there lives in the guest's memory.
mount -t tmpfs tmpfs /tmp

IFS=,
for tag in $shares; do
	[ -n "$tag" ] || continue
	mkdir -p "/mnt/$tag"
	err=$(mount -t 9p -o trans=virtio,version=9p2000.L "$tag" "/mnt/$tag" 2>&1) ||
		echo "vivarium: mount 9p share $tag: $err"
done
unset IFS

# acpid scans /dev/input/event* once, at start: wait for the power button.
for i in $(seq 50); do
	grep -qs '^N: Name="Power Button"' /proc/bus/input/devices && break
	sleep 0.1
done
acpid -f -c /etc/acpi -l /dev/null &
# Ready only once acpid holds the button's evdev open: a press before that
# would be lost.
for i in $(seq 50); do
	ls -l /proc/$!/fd 2>/dev/null | grep -q /dev/input/event && break
	sleep 0.1
done

say VIVARIUM-GUEST-READY

result() { # result ACTION ok|fail DETAIL...
	a=$1 s=$2
	shift 2
	say "VIVARIUM-RESULT $a $s $(echo "$*" | tr '\n' ' ' | sed 's/ *$//')"
}

ports() {
	set +f # globs below; actions are split with globbing off
	# Port names arrive from the host after the driver binds: wait for them.
	for i in $(seq 50); do
		ls /sys/bus/virtio/drivers/virtio_console/ 2>/dev/null | grep -q virtio || break
		grep -qs . /sys/class/virtio-ports/vport*/name && break
		sleep 0.1
	done
	names=
	for f in /sys/class/virtio-ports/vport*/name; do
		[ -s "$f" ] && names=$names${names:+,}$(cat "$f")
	done
	set -f
	result ports ok "$names"
}

run_action() {
	case $1 in
	share-write:*)
		tag=${1#*:}
		if ! grep -qs " /mnt/$tag 9p " /proc/mounts; then
			result "$1" fail "/mnt/$tag is not a mounted share (add $tag to vivarium.shares)"
		elif err=$( { echo "hello from guest" >"/mnt/$tag/from-guest.txt"; } 2>&1) && sync; then
			result "$1" ok "/mnt/$tag/from-guest.txt"
		else
			result "$1" fail "$err"
		fi
		;;
	disk-write:*)
		text=${1#*:}
		if [ ! -b /dev/vda ]; then
			result "$1" fail "no /dev/vda"
		elif err=$(printf '%s\n' "$text" | dd of=/dev/vda bs=512 count=1 conv=sync,fsync 2>&1); then
			result "$1" ok "$text"
		else
			result "$1" fail "$err"
		fi
		;;
	disk-read)
		if [ -b /dev/vda ]; then
			result "$1" ok "$(dd if=/dev/vda bs=512 count=1 2>/dev/null | tr -d '\000' | head -n 1)"
		else
			result "$1" fail "no /dev/vda"
		fi
		;;
	ports) ports ;;
	tmpfs-write:*)
		if err=$( { echo "${1#*:}" >"/tmp/${1#*:}"; } 2>&1); then
			result "$1" ok "/tmp/${1#*:}"
		else
			result "$1" fail "$err"
		fi
		;;
	tmpfs-rm:*)
		if err=$(rm "/tmp/${1#*:}" 2>&1); then
			result "$1" ok "/tmp/${1#*:}"
		else
			result "$1" fail "$err"
		fi
		;;
	files) result "$1" ok "$(ls /tmp | sort | tr '\n' ',' | sed 's/,$//')" ;;
	uptime) result "$1" ok "$(cat /proc/sys/kernel/random/boot_id) $(cut -d' ' -f1 /proc/uptime)" ;;
	poweroff)
		result "$1" ok "powering off"
		vivarium-poweroff
		;;
	*) result "$1" fail "unknown action" ;;
	esac
}

IFS=,
for action in $actions; do
	unset IFS
	[ -n "$action" ] && run_action "$action"
	IFS=,
done
unset IFS

say VIVARIUM-GUEST-IDLE
if [ -n "$control" ]; then
	ip link set eth0 up
	ip addr add 10.0.2.15/24 dev eth0
	ip route add default via 10.0.2.2
	while :; do
		# A poll in flight when the VM is saved and resumed hangs: timeout.
		next=$(timeout 3 wget -q -O - "http://$control/next" 2>/dev/null)
		if [ -z "$next" ]; then
			sleep 0.2
			continue
		fi
		line=$(run_action "$next")
		echo "$line"
		timeout 3 wget -q -O /dev/null --post-data "$line" "http://$control/result" 2>/dev/null
	done
fi
if [ "$shell" = 1 ]; then
	while :; do setsid cttyhack sh -l; done
fi
while :; do sleep 3600; done
EOF
chmod 0755 "$rootfs/init"

# Same inputs, same bytes: fixed times and owners, sorted names.
find "$rootfs" -exec touch -h -d @0 {} +
(cd "$rootfs" && find . -print0 | LC_ALL=C sort -z |
	cpio --null --create --format=newc --owner=0:0 --reproducible --quiet >"$work/initrd.img") ||
	die "cpio of the initramfs failed"

# Replace atomically enough: without VERSION the old files never count as a
# valid guest, and VERSION is written last.
rm -f "$outdir/VERSION"
mv -f "$work/vmlinux" "$outdir/vmlinux"
mv -f "$work/initrd.img" "$outdir/initrd.img"
{
	echo "recipe $RECIPE_VERSION"
	echo "kernel $kpkg"
	echo "busybox $("$busybox" | head -n 1)"
	echo "modules $(tr '\n' ' ' <"$moddir/load-order")"
} >"$work/VERSION"
mv -f "$work/VERSION" "$outdir/VERSION"
log "built $outdir ($kpkg, $(wc -l <"$moddir/load-order") modules) in $((SECONDS - start)) s"
