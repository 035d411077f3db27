#!/usr/bin/env bash
# make demo: a newcomer's first working VM, with nothing to download but
# Debian packages. Creates a VM named "demo" from the tiny test guest (a
# Debian kernel and a busybox initramfs), boots it headless and shows its
# console until the guest is up.
set -euo pipefail
cd "$(dirname "$0")/.."
viv=${VIVARIUM:-build/vivarium}
guest=${VIVARIUM_TESTGUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vivarium/testguest}
bash scripts/testguest.sh "$guest" >/dev/null

if ! "$viv" show demo >/dev/null 2>&1; then
	"$viv" create --backend qemu --arch x86_64 --cpus 1 --memory 512MiB --disk 64MiB \
		--kernel "$guest/vmlinux" --initrd "$guest/initrd.img" \
		--cmdline "console=tty0 console=ttyS0,115200 quiet no_timer_check" demo
fi
state=$("$viv" status demo | head -1)
if [ "$state" != running ]; then
	echo "Starting demo (headless; its serial console follows)..."
	"$viv" start demo --headless
fi
"$viv" console demo --until VIVARIUM-GUEST-IDLE
cat <<TXT

The demo VM is running in the background (its own runner process).
  $viv status demo      # running
  $viv console demo     # its serial console
  $viv stop demo        # shuts the guest down (ACPI power button)
  $viv                  # the library window
TXT
