#!/usr/bin/env bash
# Download benchmark: Vivarium's restore image downloader (vm/ipsw) against
# curl, same local server, same file, same run, several alternating runs.
#
#   bench/download/download_bench.sh [RUNS] [SIZE_MIB]
#
# Prints each run, the medians and the ratios ours/curl (1.00 = as fast;
# goal: within 5%). Our downloader fsyncs the file before renaming it into
# place, which curl does not, so it is compared twice: with plain curl, and
# with curl followed by an fsync of its file (sync --data), the same work.
# BENCH_DIR picks where files go (default: a temp dir under $TMPDIR, i.e. on
# the disk a library would use, not tmpfs).
set -euo pipefail

runs=${1:-5}
size_mib=${2:-1024}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/vivarium-download-bench.XXXXXX")
server_pid=
cleanup() {
	if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

echo "building serve and fetch..."
(cd "$root" && go build -o "$work/serve" ./bench/download/serve && go build -o "$work/fetch" ./bench/download/fetch)

# Sparse-ish source: random blocks at the start, middle and end, holes between.
# The server reads holes as zeros from the page cache, so the link, not the
# source disk, is what is measured.
src="$work/UniversalMac_bench_Restore.ipsw"
truncate -s "${size_mib}M" "$src"
for at in 0 $((size_mib / 2)) $((size_mib - 16)); do
	dd if=/dev/urandom of="$src" bs=1M count=16 seek="$at" conv=notrunc status=none
done
want=$(sha256sum "$src" | cut -d' ' -f1)

"$work/serve" "$src" >"$work/url" &
server_pid=$!
for _ in $(seq 50); do [[ -s $work/url ]] && break; sleep 0.1; done
url=$(head -1 "$work/url")
echo "serving ${size_mib} MiB at $url"

# measure CMD...: runs CMD, prints "wall cpu" seconds (cpu = user + system,
# children included). On a busy machine wall time swings with
# the scheduler; CPU time says what each download costs.
measure() {
	local TIMEFORMAT='%R %U %S' t
	t=$({ time "$@" >/dev/null; } 2>&1)
	read -r wall user sys <<<"$t"
	echo "$wall $(echo "$user + $sys" | bc -l)"
}
curl_only() { curl -s -f -o "$work/out/curl.ipsw" "$url"; }
curl_fsync() { curl -s -f -o "$work/out/curl.ipsw" "$url" && sync --data "$work/out/curl.ipsw"; }
ours() { "$work/fetch" -dir "$work/out/ours" "$url"; }

declare -a w_ours w_curl w_curlsync c_ours c_curl c_curlsync
mkdir -p "$work/out"
for i in $(seq "$runs"); do
	rm -rf "${work:?}/out"/*
	read -r w c < <(measure curl_only); w_curl+=("$w"); c_curl+=("$c")
	rm -f "$work/out/curl.ipsw"
	read -r w c < <(measure curl_fsync); w_curlsync+=("$w"); c_curlsync+=("$c")
	rm -f "$work/out/curl.ipsw"
	read -r w c < <(measure ours); w_ours+=("$w"); c_ours+=("$c")
	got=$(sha256sum "$work/out/ours/$(basename "$src")" | cut -d' ' -f1)
	if [[ $got != "$want" ]]; then echo "run $i: our download differs from the source" >&2; exit 1; fi
	printf 'run %d (wall/cpu s): curl %.2f/%.2f  curl+fsync %.2f/%.2f  vivarium %.2f/%.2f\n' "$i" \
		"${w_curl[-1]}" "${c_curl[-1]}" "${w_curlsync[-1]}" "${c_curlsync[-1]}" "${w_ours[-1]}" "${c_ours[-1]}"
done

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
ratio() { echo "$1 / $2" | bc -l; }
mw_ours=$(median "${w_ours[@]}") mw_curl=$(median "${w_curl[@]}") mw_curlsync=$(median "${w_curlsync[@]}")
mc_ours=$(median "${c_ours[@]}") mc_curl=$(median "${c_curl[@]}") mc_curlsync=$(median "${c_curlsync[@]}")
mib_s() { echo "$size_mib / $1" | bc -l; }
printf 'median wall: curl %.2fs (%.0f MiB/s)  curl+fsync %.2fs (%.0f MiB/s)  vivarium %.2fs (%.0f MiB/s)\n' \
	"$mw_curl" "$(mib_s "$mw_curl")" "$mw_curlsync" "$(mib_s "$mw_curlsync")" "$mw_ours" "$(mib_s "$mw_ours")"
printf 'median cpu:  curl %.2fs  curl+fsync %.2fs  vivarium %.2fs\n' "$mc_curl" "$mc_curlsync" "$mc_ours"
printf 'ratio vivarium/curl        wall %.3f  cpu %.3f\n' "$(ratio "$mw_ours" "$mw_curl")" "$(ratio "$mc_ours" "$mc_curl")"
printf 'ratio vivarium/curl+fsync  wall %.3f  cpu %.3f   (1.00 = same; lower is faster)\n' \
	"$(ratio "$mw_ours" "$mw_curlsync")" "$(ratio "$mc_ours" "$mc_curlsync")"
