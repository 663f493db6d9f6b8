#!/bin/bash
# Profiles the unikernel under one tamabench load, over tap.
#
#   bench/profile.sh [-k BOOTOPTS] [-s SECONDS] [-P] IMAGE TEST
#
# Boots IMAGE (qemu.sh -t, its own network namespace) with boot options
# BOOTOPTS, runs "tamabench run -tests TEST" against it for SECONDS (default
# 20), and over the middle 10 s takes the guest's CPU profile
# (GET /debug/pprof/profile?seconds=10; -P skips it, since sampling costs the
# guest a little) and the host CPU of QEMU's threads. Writes to
# bench/results/profile-<time>-TEST/: bench.txt (tamabench's table),
# cpu.pprof, threads.txt (share of a core per QEMU thread), stats.json (the
# guest's /stats at the end) and console.log. Read the profile with
# "go tool pprof -top cpu.pprof".
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
repo=$(cd "$(dirname "$0")/.." && pwd)
k="" secs=20 prof=1
while getopts "k:s:P" opt; do
	case $opt in
	k) k=$OPTARG ;; s) secs=$OPTARG ;; P) prof=0 ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 2 ] && [ -f "$1" ] || { echo "usage: $0 [-k BOOTOPTS] [-s SECONDS] [-P] IMAGE TEST" >&2; exit 2; }
[ "$secs" -ge 14 ] || { echo "profile: -s $secs: want at least 14 (10 s sampled after 3 s)" >&2; exit 2; }
img=$1 test=$2
"$repo/qemu.sh" -T >/dev/null || { echo "profile: needs tap mode: $("$repo/qemu.sh" -T 2>&1 || true)" >&2; exit 1; }
out=$repo/bench/results/profile-$(date -u +%Y%m%dT%H%M%SZ)-$test
mkdir -p "$out"
tmp=$(mktemp -d)
ns=tamanet-profile-$$
(cd "$repo" && go build -o "$tmp/tamabench" ./cmd/tamabench)

# The admin listener (guest port 8081) serves the CPU profile.
kargs=(-k "${k:+$k }admin=8081")
"$repo/qemu.sh" -a tcg -t "$ns" "${kargs[@]}" "$img" -- -pidfile "$tmp/qemu.pid" </dev/null >"$out/console.log" 2>&1 &
qemu=$!
trap 'kill $qemu 2>/dev/null; wait $qemu 2>/dev/null; rm -rf "$tmp"' EXIT
in_ns() { ip netns exec "$ns" "$@"; }
up=0
for _ in $(seq 1 600); do
	if [ -s "$tmp/qemu.pid" ] && in_ns curl -s -m 1 -o /dev/null http://10.0.2.15/ 2>/dev/null; then
		up=1
		break
	fi
	kill -0 "$qemu" 2>/dev/null || break
	sleep 0.1
done
[ $up = 1 ] || { echo "profile: the guest did not answer; console in $out/console.log" >&2; exit 1; }
qpid=$(cat "$tmp/qemu.pid")

# threads: "tid name ticks" for each QEMU thread (utime+stime, clock ticks).
threads() {
	for t in /proc/"$qpid"/task/*; do
		echo "$(basename "$t") $(tr ' ' _ <"$t/comm") $(awk '{print $14 + $15}' "$t/stat")"
	done
}

in_ns "$tmp/tamabench" run -q -tap -host 10.0.2.15 -http-port 80 -tcp-port 7 -udp-port 7 \
	-tests "$test" -warmup 1s -duration "${secs}s" >"$out/bench.txt" 2>&1 &
load=$!
sleep 3
threads >"$tmp/t0"
t0=$(date +%s%N)
if [ $prof = 1 ]; then
	in_ns curl -s -m 60 -o "$out/cpu.pprof" "http://10.0.2.15:8081/debug/pprof/profile?seconds=10"
else
	sleep 10
fi
threads >"$tmp/t1"
t1=$(date +%s%N)
wait $load || { echo "profile: tamabench failed:" >&2; cat "$out/bench.txt" >&2; exit 1; }
in_ns curl -s -m 10 -o "$out/stats.json" http://10.0.2.15/stats
hz=$(getconf CLK_TCK)
join "$tmp/t0" "$tmp/t1" | awk -v hz="$hz" -v ns=$((t1 - t0)) \
	'{ printf "%-8s %-18s %6.1f%% of a core\n", $1, $2, ($5 - $3) / hz * 1e11 / ns }' |
	sort -k3 -rn >"$out/threads.txt"
cat "$out/bench.txt" "$out/threads.txt"
echo "profile: results in $out"
