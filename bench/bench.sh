#!/bin/bash
# make bench: the whole comparison in one run.
#
#   bench/bench.sh IMAGE
#
# 1. tamanet against the Linux baseline: ROUNDS interleaved rounds (default
#    3), every tamabench test, boot-to-first-response (with the unikernel's
#    boot phases) and idle host CPU; the unikernel's latency tests run with
#    its latency trace on, which explains their slowest 0.1% (tail causes).
# 2. The unikernel's three NAPI modes (napi, interrupt, busypoll) against
#    each other: MODE_ROUNDS rounds (default 2) of a shorter test list.
# 3. Offloads (TSO, checksum insertion, GRO) on against off (boot option
#    offload=): OFFLOAD_ROUNDS rounds (default 2) of the same list, and as
#    many of the download alone, after which the guest's /stats gives the
#    doorbells (TDT writes) and interrupts it cost per MB.
# 4. Jumbo frames, tap mode only: tamanet against Linux with both guests and
#    the tap at MTU 9000, JUMBO_ROUNDS rounds (default 2) of the bulk and
#    latency tests.
# 5. The runtime's timer tick (preemption, CPU profiles) on against off (boot
#    option tick=): TICK_ROUNDS rounds (default 2) of the latency and req/s
#    tests and idle CPU, so a cost of the tick shows. 0 rounds skips a part.
# Network: NET=auto (default: tap where the machine allows it, else user),
# user or tap. FIRMWARE=qboot (default) or seabios, for both guests.
# ACCEL=auto (default), tcg or kvm: auto is decided once, before the first
# boot, as qemu.sh's -a decides it (its header says the rule and why), and
# every guest of the run uses the answer; settings.txt records it.
# DURATION (3s) and WARMUP (1s) per test, IDLE (10s) per boot.
# Results: bench/results/<UTC time>/ (a directory per part with every
# round's JSON, console logs and plots) and bench/results/<UTC time>.json
# (every part's ratio table and the settings); the run's summary/ (see
# bench/summary.sh: command, commit, machine and load, the small tables)
# is what bench/record.sh files under bench/notes/. QEMU must be installed
# or installable (scripts/ensure-qemu.sh); the Linux baseline is built once.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=bench/summary.sh
. "$here/summary.sh"
[ $# = 1 ] && [ -f "$1" ] || { echo "usage: $0 UNIKERNEL_IMAGE" >&2; exit 2; }
image=$1
rounds=${ROUNDS:-3} mode_rounds=${MODE_ROUNDS:-2} net=${NET:-auto} ipv6=${IPV6:-0}
offload_rounds=${OFFLOAD_ROUNDS:-2} jumbo_rounds=${JUMBO_ROUNDS:-2} tick_rounds=${TICK_ROUNDS:-2}
duration=${DURATION:-3s} warmup=${WARMUP:-1s} idle=${IDLE:-10s}
accel_knob=${ACCEL:-auto}
firmware=${FIRMWARE:-qboot}

"$repo/scripts/ensure-qemu.sh" >/dev/null
accel=$("$here/tamabench.sh" accel -a "$accel_knob" "$image")
case $net in
auto) if "$repo/qemu.sh" -T 2>/dev/null; then net=tap; else
	echo "bench: tap mode unavailable ($("$repo/qemu.sh" -T 2>&1 || true)); using user networking" >&2
	net=user
fi ;;
esac
v6=()
if [ "$ipv6" = 1 ]; then
	[ "$net" = tap ] || { echo "bench: IPV6=1 needs tap mode, unavailable here" >&2; exit 1; }
	v6=(-6)
	net="tap ipv6"
fi
ts=$(date -u +%Y%m%dT%H%M%SZ)
out=$repo/bench/results/$ts
mkdir -p "$out"
t0=$(date +%s)
[ "$net" = tap ] || jumbo_rounds=0
settings="accel $accel (ACCEL=$accel_knob), firmware $firmware, network $net, $rounds rounds vs Linux, $mode_rounds per NAPI mode, $offload_rounds per offload setting, $jumbo_rounds vs Linux at MTU 9000, $tick_rounds per tick setting, per test ${warmup} warm-up + ${duration}, idle ${idle} per boot"
echo "bench: $settings" | tee "$out/settings.txt" >&2
summary_begin "$out" ROUNDS="$rounds" MODE_ROUNDS="$mode_rounds" OFFLOAD_ROUNDS="$offload_rounds" \
	JUMBO_ROUNDS="${JUMBO_ROUNDS:-2}" TICK_ROUNDS="$tick_rounds" NET="${NET:-auto}" IPV6="$ipv6" \
	FIRMWARE="$firmware" ACCEL="$accel_knob" DURATION="$duration" WARMUP="$warmup" IDLE="$idle" -- "$0" "$@"

# costs DIR: the per-MB costs each round's guest reported in /stats after
# its download (interleave -S), a line per round.
costs() {
	printf '%-22s %-6s %-22s %s\n' target round tx_doorbells_per_MB irqs_per_MB
	for f in "$1"/stats/*-r*.json; do
		t=$(basename "$f" .json)
		printf '%-22s %-6s %-22s %s\n' "${t%-r*}" "${t##*-r}" \
			"$(sed -n 's/.*"tx_doorbells_per_megabyte": *\([0-9.e+-]*\).*/\1/p' "$f")" \
			"$(sed -n 's/.*"irqs_per_megabyte": *\([0-9.e+-]*\).*/\1/p' "$f")"
	done
}

echo "bench: tamanet vs Linux" >&2
"$here/tamabench.sh" interleave -u "$image" -r "$rounds" -a "$accel" -f "$firmware" -N "${net%% *}" "${v6[@]}" -I "$idle" -o "$out/vs-linux" -- \
	-duration "$duration" -warmup "$warmup" -q -trace >"$out/vs-linux.log"
if [ "$mode_rounds" -gt 0 ]; then
	echo "bench: NAPI modes" >&2
	"$here/tamabench.sh" interleave -u "$image" -n napi,interrupt,busypoll -r "$mode_rounds" -a "$accel" -f "$firmware" -N "${net%% *}" "${v6[@]}" -I "$idle" \
		-o "$out/napi-modes" -- -duration "$duration" -warmup "$warmup" -q \
		-tests keepalive,udpecho,rps,download,upload -concurrency 1,16 >"$out/napi-modes.log"
else
	mkdir -p "$out/napi-modes"
	echo "(MODE_ROUNDS=0: not measured)" >"$out/napi-modes/ratio.txt"
	echo null >"$out/napi-modes/ratio.json"
fi
if [ "$offload_rounds" -gt 0 ]; then
	echo "bench: offloads on and off" >&2
	"$here/tamabench.sh" interleave -u "$image" -n offload=on,offload=off -r "$offload_rounds" -a "$accel" -f "$firmware" -N "${net%% *}" "${v6[@]}" -I 0s \
		-o "$out/offload" -- -duration "$duration" -warmup "$warmup" -q \
		-tests keepalive,udpecho,rps,download,upload -concurrency 1,16 >"$out/offload.log"
	"$here/tamabench.sh" interleave -u "$image" -n offload=on,offload=off -r "$offload_rounds" -a "$accel" -f "$firmware" -N "${net%% *}" "${v6[@]}" -I 0s \
		-S -o "$out/offload-download" -- -duration "$duration" -warmup "$warmup" -q -tests download >"$out/offload-download.log"
	costs "$out/offload-download" >"$out/offload-download/costs.txt"
fi
if [ "$jumbo_rounds" -gt 0 ]; then
	echo "bench: tamanet vs Linux at MTU 9000" >&2
	"$here/tamabench.sh" interleave -u "$image" -r "$jumbo_rounds" -a "$accel" -f "$firmware" -N "${net%% *}" "${v6[@]}" -I 0s -U 9000 \
		-o "$out/mtu9000" -- -duration "$duration" -warmup "$warmup" -q \
		-tests keepalive,tcpecho,download,upload >"$out/mtu9000.log"
fi
if [ "$tick_rounds" -gt 0 ]; then
	echo "bench: timer tick on and off" >&2
	"$here/tamabench.sh" interleave -u "$image" -n tick=on,tick=off -r "$tick_rounds" -a "$accel" -f "$firmware" -N "${net%% *}" "${v6[@]}" -I "$idle" \
		-o "$out/tick" -- -duration "$duration" -warmup "$warmup" -q \
		-tests keepalive,newconn,tcpecho,udpecho,rps -concurrency 1,4,16 >"$out/tick.log"
fi
secs=$(($(date +%s) - t0))

# goals: the issue's targets against the vs-Linux ratios (benchmarks, not
# assertions). Columns of ratio.txt: target test metric unit base target ratio ...
goals() {
	awk '
	function row(name, goal, kind, limit, v,   ok) {
		ok = (kind == "le") ? (v + 0 <= limit) : (v + 0 >= limit)
		printf "%-32s %-8s %-8s %-8s (tamanet %s %s, linux %s %s)\n", name, goal, v, ok ? "met" : "NOT met", $6, $4, $5, $4
	}
	NR == 1 || $1 == "target" { next }
	{ r = $7; sub(/x$/, "", r) }
	$2 == "http_keepalive" && $3 == "p50" { row("HTTP keep-alive p50 / Linux", "<=0.8x", "le", 0.8, r) }
	$2 == "http_keepalive" && $3 == "p99" { row("HTTP keep-alive p99 / Linux", "<=1.0x", "le", 1.0, r) }
	$2 == "rps_c16" && $3 == "rps" { row("req/s, 16 connections / Linux", ">=1.2x", "ge", 1.2, r) }
	$2 == "download" { row("download MB/s / Linux", ">=1.3x", "ge", 1.3, r) }
	$2 == "upload" { row("upload MB/s / Linux", ">=1.0x", "ge", 1.0, r) }
	$2 == "boot" && NF >= 9 { row("boot to first 200 (" fw "), s", fw == "qboot" ? "<=1.1" : "<=1.25", "le", fw == "qboot" ? 1.1 : 1.25, $6 / 1000) }
	$2 == "idle_cpu" { row("idle host CPU, % of a core", "<=1", "le", 1, $6) }
	# The boot phase table (target phase ms step rounds): medians.
	$1 == "tamanet" && $2 == "rx_enabled" && NF == 5 { rx = $3 }
	$1 == "tamanet" && $2 == "first_200" && NF == 5 { f200 = $3 }
	END {
		if (rx != "" && f200 != "") {
			v = (f200 - rx) / 1000
			printf "%-32s %-8s %-8.3f %-8s (first 200 at %s ms, RCTL written at %s ms)\n", "first 200 - RCTL write, s", "<=1.05", v, v <= 1.05 ? "met" : "NOT met", f200, rx
		}
	}
	' fw="$firmware" "$out/vs-linux/ratio.txt"
}
goals >"$out/goals.txt"

{
	printf '{\n"schema": "tamanet-bench/v1",\n"started": "%s",\n"settings": "%s",\n"network": "%s",\n' "$ts" "$settings" "$net"
	printf '"seconds": %d,\n"vs_linux": ' "$secs"
	cat "$out/vs-linux/ratio.json"
	printf ',\n"napi_modes": '
	cat "$out/napi-modes/ratio.json"
	for part in offload mtu9000 tick; do
		[ -f "$out/$part/ratio.json" ] || continue
		printf ',\n"%s": ' "$part"
		cat "$out/$part/ratio.json"
	done
	printf '}\n'
} >"$repo/bench/results/$ts.json"
summary_end "$out" settings.txt goals.txt bench.json="$repo/bench/results/$ts.json" \
	vs-linux/ratio.txt vs-linux/ratio.json napi-modes/ratio.txt napi-modes/ratio.json \
	offload/ratio.txt offload/ratio.json offload-download/ratio.txt offload-download/ratio.json \
	offload-download/costs.txt mtu9000/ratio.txt mtu9000/ratio.json tick/ratio.txt tick/ratio.json

echo
echo "== tamanet / Linux ($settings) =="
cat "$out/vs-linux/ratio.txt"
echo
echo "== NAPI modes, base tamanet-napi =="
cat "$out/napi-modes/ratio.txt"
for part in offload mtu9000 tick; do
	[ -f "$out/$part/ratio.txt" ] || continue
	echo
	case $part in
	offload)
		echo "== offloads, base tamanet-offload-on (offload=off is the comparison) =="
		cat "$out/offload/ratio.txt"
		echo
		echo "== per-MB costs of the download (guest /stats) =="
		cat "$out/offload-download/costs.txt"
		;;
	mtu9000)
		echo "== tamanet / Linux at MTU 9000 =="
		cat "$out/mtu9000/ratio.txt"
		;;
	tick)
		echo "== timer tick, base tamanet-tick-on (tick=off is the comparison) =="
		cat "$out/tick/ratio.txt"
		;;
	esac
done
echo
echo "== goals (numbers from network $net) =="
cat "$out/goals.txt"
echo
echo "bench: $secs s; results in $out/ and $repo/bench/results/$ts.json"
echo "bench: summary in $out/summary/ (bench/record.sh $out NAME files it under bench/notes/)"
