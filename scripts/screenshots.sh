#!/usr/bin/env bash
# screenshots.sh — take docs/screenshots/*.png of the real window under Xvfb.
#
# Builds vivarium, fills a throw-away library (VIVARIUM_HOME in a temporary
# folder) with example VMs — a Linux desktop with a thumbnail of its last
# screen, a macOS beta, a disposable scratch VM, a broken one, and, when the
# tiny test guest is built (scripts/testguest.sh), a running one — opens the
# GUI on Xvfb :99 (1440x900x24), moves through it with xdotool (keys and
# clicks, as a person would) and saves:
#   library.png          the library, a VM with a thumbnail selected
#   library-broken.png   a broken VM saying what is wrong with it
#   settings.png         the settings editor refusing a memory size, inline
#   settings-host.png    a setting this host cannot use, greyed out with why
#   wizard.png           the create wizard's first step
#   wizard-hardware.png  its processor, memory and disk step
#   wizard-import.png    its Import a VM… step, a UTM bundle chosen: what the
#                        import makes and what it cannot bring over
#   snapshots.png        the Snapshots section of a VM's detail
# Each is cropped to its window. Look at every one before committing them.
#
# Needs: go, Xvfb, xdotool, ImageMagick (import, convert). Extra flags for
# `go build` can be given in SCREENSHOT_BUILD_FLAGS.
set -euo pipefail

cd "$(dirname "$0")/.."
out=docs/screenshots
work=$(mktemp -d)
xvfb_pid= gui_pid=
cleanup() {
	if [[ -n $gui_pid ]]; then
		kill "$gui_pid" 2>/dev/null || true
		wait "$gui_pid" 2>/dev/null || true
	fi
	if [[ -x $work/vivarium && -d $work/library/Tiny\ Linux.vm ]]; then
		"$work/vivarium" stop --force "Tiny Linux" >/dev/null 2>&1 || true
	fi
	if [[ -n $xvfb_pid ]]; then kill "$xvfb_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

export LANG=en_US.UTF-8 LC_ALL=
export VIVARIUM_HOME=$work/library
export DISPLAY=${SCREENSHOT_DISPLAY:-:99}
export FYNE_THEME=light FYNE_SCALE=1
unset DBUS_SESSION_BUS_ADDRESS

echo "building vivarium…"
# shellcheck disable=SC2086 # the flags are a list
go build ${SCREENSHOT_BUILD_FLAGS:-} -o "$work/vivarium" ./app

# The GUI keeps its preferences under $HOME: keep them out of the real one
# (after the build, which needs the real Go caches).
guest=${VIVARIUM_TESTGUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vivarium/testguest}
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config
mkdir -p "$out" "$HOME/Projects/website"
viv() { "$work/vivarium" "$@"; }

echo "making example VMs in $VIVARIUM_HOME…"
viv create --cpus 4 --memory 8GiB --disk 64GiB --share "$HOME/Projects:projects" "Ubuntu Desktop" >/dev/null
viv create --disposable --memory 2GiB --disk 16GiB "Scratch" >/dev/null
viv create --memory 4GiB --disk 32GiB "Old Fedora" >/dev/null

# The Linux desktop's last screen: a quiet desktop with a terminal open.
convert -size 1280x800 gradient:'#6a3f8f'-'#d8613c' -font DejaVu-Sans \
	-fill '#1b1b1b' -draw 'rectangle 0,0 1280,28' \
	-fill '#f2f2f2' -pointsize 14 -annotate +600+19 'Tue 10:24' \
	-fill '#2b2b2b' -draw 'roundrectangle 180,120 940,600 10,10' \
	-fill '#3a3a3a' -draw 'roundrectangle 180,120 940,160 10,10' -draw 'rectangle 180,140 940,160' \
	-fill '#e8e8e8' -pointsize 15 -annotate +470+146 'ada@ubuntu: ~' \
	-font DejaVu-Sans-Mono -fill '#9fe870' -pointsize 16 -annotate +200+195 'ada@ubuntu:~$' \
	-fill '#e8e8e8' -annotate +330+195 'uname -sr' \
	-annotate +200+220 'Linux 6.8.0-45-generic' \
	-fill '#9fe870' -annotate +200+245 'ada@ubuntu:~$' \
	-fill '#e8e8e8' -annotate +330+245 'ls ~/projects' \
	-annotate +200+270 'website' \
	-fill '#9fe870' -annotate +200+295 'ada@ubuntu:~$' \
	-fill '#1e1e1e' -draw 'roundrectangle 440,730 840,790 14,14' \
	"$VIVARIUM_HOME/Ubuntu Desktop.vm/thumbnail.png"

# Snapshots of the Linux desktop, each with the screen it had then; the
# last taken while it was suspended, so with its memory.
ub="$VIVARIUM_HOME/Ubuntu Desktop.vm"
cp "$ub/thumbnail.png" "$work/desktop.png"
convert -size 1280x800 gradient:'#2c001e'-'#77216f' -font DejaVu-Sans \
	-fill '#ffffff' -pointsize 44 -annotate +470+380 'Welcome' \
	-fill '#e95420' -draw 'roundrectangle 540,440 740,490 10,10' \
	-fill '#ffffff' -pointsize 18 -annotate +592+472 'Get started' "$ub/thumbnail.png"
viv snapshot "Ubuntu Desktop" "Fresh install" >/dev/null
convert -size 1280x800 gradient:'#1d3b2a'-'#4f9d69' -font DejaVu-Sans \
	-fill '#f4f4f4' -draw 'roundrectangle 240,160 1040,640 12,12' \
	-fill '#333333' -pointsize 22 -annotate +300+230 'Software Updater' \
	-pointsize 16 -annotate +300+280 'Updated software is available for this computer.' \
	-fill '#4f9d69' -draw 'rectangle 300,330 980,350' "$ub/thumbnail.png"
viv snapshot "Ubuntu Desktop" "Tools installed" >/dev/null
cp "$work/desktop.png" "$ub/thumbnail.png"
echo "a suspended session" >"$ub/state.vzvmsave"
viv snapshot "Ubuntu Desktop" "Before the upgrade" >/dev/null
rm "$ub/state.vzvmsave"

# A macOS beta, made by hand as the CLI cannot install macOS on Linux.
mac="$VIVARIUM_HOME/macOS 26 beta.vm"
mkdir -p "$mac"
truncate -s 80G "$mac/disk-0.img"
truncate -s 32M "$mac/aux.img"
cat >"$mac/config.toml" <<'EOF'
version = 1
name = "macOS 26 beta"
os = "macos"
backend = "vz"
arch = "arm64"
cpus = 4
memory = "8GiB"
clipboard = true

[boot]
mode = "macos"

[[disks]]
file = "disk-0.img"
size = "80GiB"

[display]
width = 1920
height = 1200
ppi = 144
auto_resize = true

[network]
mode = "nat"
mac = "5a:1e:07:3b:91:c4"
EOF

# A VM broken by hand: a setting Vivarium does not know.
sed -i 's/^version = 1$/&\ngpu = "virgl"/' "$VIVARIUM_HOME/Old Fedora.vm/config.toml"

# A running VM: the tiny test guest, headless, when it has been built.
if [[ -f $guest/vmlinux && -f $guest/initrd.img ]]; then
	viv create --kernel "$guest/vmlinux" --initrd "$guest/initrd.img" --cmdline "console=ttyS0" \
		--memory 512MiB --cpus 1 --disk 1GiB "Tiny Linux" >/dev/null
	viv start --headless "Tiny Linux" || echo "(could not start Tiny Linux; the library shows no running VM)"
else
	echo "(no test guest in $guest; run scripts/testguest.sh for a running VM in the library shot)"
fi

# A UTM bundle to import, laid out as UTM 4 writes one (QEMU backend).
utm="$work/Debian 12.utm"
mkdir -p "$utm/Data"
qemu-img create -q -f qcow2 "$utm/Data/6C1E8A52-3D4B-4F0A-9E21-7B5D0C9A1F33.qcow2" 64G
cat >"$utm/config.plist" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Backend</key><string>QEMU</string>
	<key>ConfigurationVersion</key><integer>4</integer>
	<key>Display</key><array><dict><key>Hardware</key><string>virtio-vga</string></dict></array>
	<key>Drive</key><array>
		<dict><key>Identifier</key><string>6C1E8A52-3D4B-4F0A-9E21-7B5D0C9A1F33</string>
		<key>ImageName</key><string>6C1E8A52-3D4B-4F0A-9E21-7B5D0C9A1F33.qcow2</string>
		<key>ImageType</key><string>Disk</string><key>Interface</key><string>VirtIO</string></dict>
		<dict><key>Identifier</key><string>CD</string><key>ImageType</key><string>CD</string><key>Interface</key><string>USB</string></dict>
	</array>
	<key>Information</key><dict><key>Icon</key><string>debian</string><key>IconCustom</key><false/>
		<key>Name</key><string>Debian 12</string><key>UUID</key><string>0B7E5E0C-4B4F-4E77-8C1B-3F4B2A7D9E10</string></dict>
	<key>Network</key><array><dict><key>Hardware</key><string>virtio-net-pci</string><key>MacAddress</key><string>3A:5F:21:9C:0D:7E</string>
		<key>Mode</key><string>Emulated</string><key>PortForward</key><array><dict><key>GuestPort</key><integer>22</integer><key>HostPort</key><integer>2222</integer><key>Protocol</key><string>TCP</string></dict></array></dict></array>
	<key>QEMU</key><dict><key>PS2Controller</key><true/><key>TPMDevice</key><true/><key>UEFIBoot</key><true/></dict>
	<key>Sharing</key><dict><key>ClipboardSharing</key><true/><key>DirectoryShareMode</key><string>VirtFS</string></dict>
	<key>Sound</key><array><dict><key>Hardware</key><string>intel-hda</string></dict></array>
	<key>System</key><dict><key>Architecture</key><string>x86_64</string><key>CPU</key><string>default</string><key>CPUCount</key><integer>4</integer>
		<key>MemorySize</key><integer>4096</integer><key>Target</key><string>q35</string></dict>
</dict>
</plist>
EOF

echo "starting Xvfb and the GUI…"
Xvfb "$DISPLAY" -screen 0 1440x900x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done
"$work/vivarium" >"$work/gui.log" 2>&1 &
gui_pid=$!

# window TITLE: wait for a visible window titled TITLE and print its id.
window() {
	local id
	for _ in $(seq 300); do
		id=$(xdotool search --onlyvisible --name "^$1\$" 2>/dev/null | head -1) || true
		if [[ -n $id ]]; then echo "$id"; return; fi
		sleep 0.1
	done
	echo "no window \"$1\" appeared; the GUI said:" >&2
	cat "$work/gui.log" >&2
	exit 1
}

# gone TITLE: wait until no window titled TITLE shows.
gone() {
	for _ in $(seq 300); do
		xdotool search --onlyvisible --name "^$1\$" >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	echo "the window \"$1\" did not close" >&2
	exit 1
}

# shot ID FILE: save the window's pixels, cropped to the window.
shot() {
	local X Y WIDTH HEIGHT SCREEN WINDOW
	sleep 1.5 # let fyne draw
	eval "$(xdotool getwindowgeometry --shell "$1")"
	import -window root -crop "${WIDTH}x${HEIGHT}+${X}+${Y}" +repage "$out/$2"
	echo "  $out/$2"
}

# click ID X Y: click at X,Y inside the window. There is no window manager
# on Xvfb: every window opens at the top left, at fyne's scale 1, so the
# places below are fixed.
click() {
	xdotool mousemove --window "$1" "$2" "$3" click 1
	sleep 0.8
}

# keys ID KEY...: press keys in the window.
keys() {
	local id=$1
	shift
	xdotool windowfocus --sync "$id" key --delay 150 "$@"
	sleep 0.8
}

lib=$(window Vivarium)
xdotool windowsize --sync "$lib" 1240 780
sleep 3 # the first read of the library
# The list is in name order, the broken Old Fedora first; the arrow keys
# move the selection down to Ubuntu Desktop, the VM with a thumbnail.
keys "$lib" Down Down
if [[ -d "$VIVARIUM_HOME/Tiny Linux.vm" ]]; then keys "$lib" Down; fi
shot "$lib" library.png
# The broken VM, at the top of the list, says what is wrong with it.
keys "$lib" Up Up Up Up
shot "$lib" library-broken.png
keys "$lib" Down Down
if [[ -d "$VIVARIUM_HOME/Tiny Linux.vm" ]]; then keys "$lib" Down; fi
# The Snapshots section, below its summary: scroll the detail pane down,
# and back up for what follows.
xdotool mousemove --window "$lib" 900 500 click --repeat 12 --delay 50 5
for _ in 1 2; do
	sleep 2 # the snapshot rows fill in, and the pane grows
	xdotool mousemove --window "$lib" 900 500 click --repeat 12 --delay 50 5
done
shot "$lib" snapshots.png
xdotool mousemove --window "$lib" 900 500 click --repeat 30 --delay 20 4
sleep 0.8

# Edit Settings, among the selected VM's actions; then the System tab, and
# a memory size too small for any guest typed over the old one.
click "$lib" 488 185
settings=$(window "“Ubuntu Desktop” Settings")
click "$settings" 77 60
click "$settings" 540 103
keys "$settings" ctrl+a
xdotool type --delay 80 "256MiB"
shot "$settings" settings.png
# Clipboard & Rosetta: Rosetta is greyed out here, with the host's reason.
click "$settings" 77 296
shot "$settings" settings-host.png
click "$settings" 703 553 # Cancel
gone "“Ubuntu Desktop” Settings"

# The + button above the list opens the wizard.
click "$lib" 334 53
wizard=$(window "Create a VM")
shot "$wizard" wizard.png
# Linux from an installer ISO; type the ISO's path and press Return.
touch "$work/ubuntu-24.04-desktop-amd64.iso"
click "$wizard" 360 200
click "$wizard" 300 120
xdotool type --delay 20 "$work/ubuntu-24.04-desktop-amd64.iso"
keys "$wizard" Return
shot "$wizard" wizard-hardware.png
# Back to the first step, then Import a VM… (the fifth choice) and a UTM
# bundle's path typed: the wizard shows what the import will make.
click "$wizard" 50 530 # Cancel
gone "Create a VM"
click "$lib" 334 53
wizard=$(window "Create a VM")
click "$wizard" 360 460
click "$wizard" 300 105
xdotool type --delay 20 "$utm"
sleep 1
shot "$wizard" wizard-import.png

echo "done; look at each screenshot before committing it."
