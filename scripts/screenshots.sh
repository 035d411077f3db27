#!/usr/bin/env bash
# screenshots.sh — take docs/screenshots/*.png of the real window under Xvfb.
#
# Builds vivarium, fills a throw-away library (VIVARIUM_HOME in a temporary
# folder) with example VMs — a real Debian desktop (the desktop guest,
# scripts/desktopguest.sh, built when missing) booted once so its thumbnail
# is its last screen, a macOS beta, a disposable scratch VM, a broken one,
# and, when the tiny test guest is built (scripts/testguest.sh), a running
# one — opens the GUI on Xvfb :99 (1440x900x24), moves through it with
# xdotool (keys and clicks, as a person would) and saves:
#   desktop-window.png        the desktop VM's window (the SPICE viewer) at
#                             its configured 1280x800
#   desktop-window-small.png  the same window made smaller: the guest follows
#   library.png          the library, the desktop VM with its thumbnail selected
#   library-broken.png   a broken VM saying what is wrong with it
#   settings.png         the settings editor refusing a memory size, inline
#   settings-host.png    a setting this host cannot use, greyed out with why
#   wizard.png           the create wizard's first step
#   wizard-hardware.png  its processor, memory and disk step
#   wizard-import.png    its Import a VM… step, a UTM bundle chosen: what the
#                        import makes and what it cannot bring over
#   snapshots.png        the Snapshots section of the desktop VM's detail
# Each is cropped to its window. Look at every one before committing them.
#
# Needs: go, Xvfb, xdotool, xclip, ImageMagick (import, convert), QEMU and
# virt-viewer, root or sudo for a first build of the desktop guest. Extra flags for
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
	if [[ -x $work/vivarium ]]; then
		for vm in "Tiny Linux" "Debian Desktop"; do
			[[ -d $work/library/$vm.vm ]] && "$work/vivarium" stop --force "$vm" >/dev/null 2>&1 || true
		done
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

echo "getting the desktop guest (a first build takes several minutes)…"
desktop_env=$(go run ./internal/desktopguest/cmd/desktopguest-env)

# The GUI keeps its preferences under $HOME: keep them out of the real one
# (after the build, which needs the real Go caches).
guest=${VIVARIUM_TESTGUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vivarium/testguest}
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config
mkdir -p "$out" "$HOME/Projects/website"
viv() { "$work/vivarium" "$@"; }

echo "making example VMs in $VIVARIUM_HOME…"
viv create --disposable --memory 2GiB --disk 16GiB "Scratch" >/dev/null
viv create --memory 4GiB --disk 32GiB "Old Fedora" >/dev/null

echo "starting Xvfb…"
Xvfb "$DISPLAY" -screen 0 1440x900x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

# The desktop: the real desktop guest, its window the SPICE viewer on :99.
# Its session reports its screen size through the share tagged $report_tag.
eval "$desktop_env"
desktop="Debian Desktop"
mkdir -p "$work/report"
viv create --kernel "$kernel" --initrd "$initrd" --cmdline "$cmdline" --import-disk "$image" --disk 0 \
	--cpus 2 --memory 2GiB --network none --share "$HOME/Projects:projects" --share "$work/report:$report_tag" "$desktop" >/dev/null
viv set "$desktop" display.width=1280 display.height=800 >/dev/null
echo "booting $desktop (a minute or so under emulation)…"
viv start "$desktop" >/dev/null
# screen WxH: wait until the guest reports that screen size.
screen() {
	for _ in $(seq 600); do
		[[ $(cat "$work/report/screen" 2>/dev/null) == "$1" ]] && return
		sleep 0.5
	done
	echo "the desktop guest's screen never became $1" >&2
	exit 1
}
for _ in $(seq 600); do [[ -f $work/report/ready ]] && break; sleep 0.5; done
[[ -f $work/report/ready ]] || { echo "$desktop did not come up; see $("$work/vivarium" logs "$desktop" 2>&1 | tail -n 3)" >&2; exit 1; }
screen 1280x800
# Copy on the host: the guest's terminal shows its clipboard. A copy made
# before the guest's agent reaches the viewer is dropped: copy until it lands.
for _ in $(seq 20); do
	printf 'Copied on the host at %s' "$(date +%H:%M:%S)" | xclip -selection clipboard -i
	for _ in $(seq 10); do grep -qs 'Copied on the host' "$work/report/clipboard" && break 2; sleep 0.5; done
done
sleep 1.5 # the terminal redraws every second
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

# The desktop's window at its configured size, then made smaller: the guest
# follows it. Then a polite stop: the runner keeps its last screen as the
# library's thumbnail.
dwin=$(window "$desktop \\(1\\)")
sleep 2
shot "$dwin" desktop-window.png
eval "$(xdotool getwindowgeometry --shell "$dwin")"
xdotool windowsize "$dwin" $((WIDTH - 1280 + 960)) $((HEIGHT - 800 + 600))
screen 960x600
sleep 2
shot "$dwin" desktop-window-small.png
xdotool windowsize "$dwin" "$WIDTH" "$HEIGHT"
screen 1280x800
sleep 2
viv stop "$desktop" >/dev/null
# A snapshot of the stopped desktop: its thumbnail is the guest's last screen.
viv snapshot "$desktop" "Desktop set up" >/dev/null

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


echo "starting the GUI…"
"$work/vivarium" >"$work/gui.log" 2>&1 &
gui_pid=$!
lib=$(window Vivarium)
xdotool windowsize --sync "$lib" 1240 780
sleep 3 # the first read of the library
# The list is in name order (byte order, as Go sorts), the first VM
# selected; the arrow keys move the selection.
selected=0
select_vm() {
	local want
	want=$(cd "$VIVARIUM_HOME" && ls -d -- *.vm | LC_ALL=C sort | grep -nxF -- "$1.vm" | cut -d: -f1)
	want=$((want - 1))
	while ((selected < want)); do keys "$lib" Down; selected=$((selected + 1)); done
	while ((selected > want)); do keys "$lib" Up; selected=$((selected - 1)); done
}
select_vm "$desktop"
shot "$lib" library.png
# The broken VM says what is wrong with it.
select_vm "Old Fedora"
shot "$lib" library-broken.png
select_vm "$desktop"
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
settings=$(window "“$desktop” Settings")
click "$settings" 77 60
click "$settings" 540 103
keys "$settings" ctrl+a
xdotool type --delay 80 "256MiB"
shot "$settings" settings.png
# Clipboard & Rosetta: Rosetta is greyed out here, with the host's reason.
click "$settings" 77 296
shot "$settings" settings-host.png
click "$settings" 703 553 # Cancel
gone "“$desktop” Settings"

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
