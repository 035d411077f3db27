#!/usr/bin/env bash
# Benchmarks Vivarium against the plain tools (cp, cat, qemu-system-x86_64
# run by hand, an empty fyne window), in the same run on the same machine.
#
#   bench/run.sh            measure; write bench/RESULTS.md and bench/results.png
#   bench/run.sh --quick    small sizes, one round each: only check that every
#                           benchmark still works (CI); writes to a temp dir and
#                           leaves the committed results alone
#
# Extra arguments go to vivbench, e.g. `bench/run.sh -only list,disks`.
# BENCH_DIR picks the scratch folder (default: a new folder in $TMPDIR, the
# disk a library would live on). Clones on XFS and the disk-full checks mount
# filesystems, so run as root to measure everything; what cannot run here is
# listed under "Not measured" with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=()
out=bench
if [[ ${1:-} == --quick ]]; then
	shift
	quick=(-quick)
	out=$(mktemp -d "${TMPDIR:-/tmp}/vivarium-bench-quick.XXXXXX")
fi
bin=$(mktemp -d "${TMPDIR:-/tmp}/vivarium-bench-bin.XXXXXX")
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/vivarium-bench.XXXXXX")
cleanup() {
	rm -rf "$bin" "$work"
	if [[ ${#quick[@]} -gt 0 ]]; then rm -rf "$out"; fi
}
trap cleanup EXIT

start=$SECONDS
# The accelerator that really boots the test guest here (probed once per
# host boot; a /dev/kvm that opens may still not run it), for every VM the
# benchmarks start and the QEMU they run by hand.
if [[ -z ${VIVARIUM_QEMU_ACCEL:-} ]] && accel=$(go run ./internal/testguest/cmd/accelprobe); then
	export VIVARIUM_QEMU_ACCEL=$accel
fi
go build -o "$bin/vivarium" ./app
go build -o "$bin/vivbench" ./bench/cmd/vivbench
status=0
"$bin/vivbench" "${quick[@]}" -out "$out" -work "$work" -vivarium "$bin/vivarium" -root . "$@" || status=$?
if [[ ${#quick[@]} -gt 0 ]]; then
	# Show what was checked: the table, without the prose.
	grep -E '^\| |^- \*\*' "$out/RESULTS.md" || true
	echo "bench --quick: $((SECONDS - start)) s"
fi
exit $status
