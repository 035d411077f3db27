#!/usr/bin/env bash
# Installs what building, running and testing Vivarium needs, when it is
# missing. Debian/Ubuntu: apt-get (as root, or through sudo). macOS: checks
# for Xcode's command line tools. Usage: scripts/deps.sh [build|test|all]
set -euo pipefail
what=${1:-all}

build_pkgs=(gcc pkg-config libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev libgl1-mesa-dev)
run_pkgs=(qemu-system-x86 qemu-system-gui qemu-utils ovmf virt-viewer openssh-client)
test_pkgs=(qemu-system-arm qemu-efi-aarch64 busybox-static kmod cpio xz-utils xvfb imagemagick xdotool xfsprogs curl dpkg-dev docker-registry skopeo debootstrap e2fsprogs xclip x11-utils cloud-init genisoimage)

case "$(uname -s)" in
Darwin)
	if ! xcode-select -p >/dev/null 2>&1; then
		echo "Vivarium needs Xcode's command line tools: run 'xcode-select --install', then try again." >&2
		exit 1
	fi
	command -v go >/dev/null || { echo "Install Go 1.26 or later (https://go.dev/dl or 'brew install go')." >&2; exit 1; }
	exit 0
	;;
Linux) ;;
*) echo "deps.sh: $(uname -s) is not supported; install Go, gcc and QEMU by hand." >&2; exit 0 ;;
esac

command -v go >/dev/null || { echo "Install Go 1.26 or later first (https://go.dev/dl)." >&2; exit 1; }
if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
	echo "deps.sh: not a Debian/Ubuntu system; install the equivalents of: ${build_pkgs[*]} ${run_pkgs[*]} ${test_pkgs[*]}" >&2
	exit 0
fi

pkgs=("${build_pkgs[@]}" "${run_pkgs[@]}")
[ "$what" = build ] && pkgs=("${build_pkgs[@]}")
[ "$what" = test ] || [ "$what" = all ] && pkgs+=("${test_pkgs[@]}")
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps.sh: missing packages ${missing[*]}; install them as root." >&2; exit 1; }
	sudo="sudo"
fi
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
