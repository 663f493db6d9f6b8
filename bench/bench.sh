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
#    tests and idle CPU, so a cost of the tick shows.
# 6. NIC=virtio only: the worth of each virtio-net feature, the unikernel
#    booted with the device offering all of them against the device with
#    one group turned off (QEMU device properties: the offloads csum,
#    guest_csum, host_tso4/6, guest_tso4/6; event_idx; mrg_rxbuf),
#    FEATURE_ROUNDS rounds (default 2) of the list of part 3; then as many
#    rounds of the download alone, of these variants and of tamanet against
#    Linux, after which each guest's /stats gives the notifications and
#    interrupts per MB.
# 7. The NIC's ceiling, tap mode only: CEILING_ROUNDS rounds (default 1) of
#    tamabench ceiling, the unikernel booted once per mode as a packet
#    generator or receive sink below any stack (boot option pktgen=: tx of
#    60- and 1514-byte frames, TSO super-frames, receiving 60- and
#    1514-byte frames), CEILING_SECONDS (default 5) each; then every
#    download and upload of part 1, both guests, as a share of its
#    ceiling (download: tso and tx-1514, upload: sink-1514).
# 0 rounds skips a part.
# NIC=e1000 (default) or virtio (qemu.sh -n, device properties allowed:
# NIC=virtio,mrg_rxbuf=off): every guest of every part, the unikernel and
# Linux alike, on that NIC, Linux with that NIC's driver. MACHINE=pc
# (default), q35 or microvm (NIC=virtio only) for every guest likewise.
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
feature_rounds=${FEATURE_ROUNDS:-2} nic=${NIC:-e1000} machine=${MACHINE:-pc}
ceiling_rounds=${CEILING_ROUNDS:-1} ceiling_seconds=${CEILING_SECONDS:-5}
duration=${DURATION:-3s} warmup=${WARMUP:-1s} idle=${IDLE:-10s}
accel_knob=${ACCEL:-auto}
firmware=${FIRMWARE:-qboot}

"$repo/scripts/ensure-qemu.sh" >/dev/null
accel=$("$here/tamabench.sh" accel -a "$accel_knob" -M "${MACHINE:-pc}" "$image")
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
[ "${net%% *}" = tap ] || ceiling_rounds=0
[ "${nic%%,*}" = virtio ] || feature_rounds=0
features=""
[ "${nic%%,*}" = virtio ] && features=", $feature_rounds per virtio feature setting"
settings="accel $accel (ACCEL=$accel_knob), firmware $firmware, network $net, machine $machine, nic $nic, $rounds rounds vs Linux, $mode_rounds per NAPI mode, $offload_rounds per offload setting, $jumbo_rounds vs Linux at MTU 9000, $tick_rounds per tick setting$features, $ceiling_rounds of the ceiling (${ceiling_seconds} s a mode), per test ${warmup} warm-up + ${duration}, idle ${idle} per boot"
echo "bench: $settings" | tee "$out/settings.txt" >&2
summary_begin "$out" ROUNDS="$rounds" MODE_ROUNDS="$mode_rounds" OFFLOAD_ROUNDS="$offload_rounds" \
	JUMBO_ROUNDS="${JUMBO_ROUNDS:-2}" TICK_ROUNDS="$tick_rounds" FEATURE_ROUNDS="${FEATURE_ROUNDS:-2}" CEILING_ROUNDS="${CEILING_ROUNDS:-1}" CEILING_SECONDS="$ceiling_seconds" NIC="$nic" MACHINE="$machine" NET="${NET:-auto}" IPV6="$ipv6" \
	FIRMWARE="$firmware" ACCEL="$accel_knob" DURATION="$duration" WARMUP="$warmup" IDLE="$idle" -- "$0" "$@"

# ib: tamabench interleave with what every part shares (the accelerator,
# firmware, network, NIC).
ib() {
	"$here/tamabench.sh" interleave -a "$accel" -f "$firmware" -N "${net%% *}" -M "$machine" -nic "$nic" ${v6[@]+"${v6[@]}"} "$@"
}

echo "bench: tamanet vs Linux" >&2
ib -u "$image" -r "$rounds" -I "$idle" -o "$out/vs-linux" -- \
	-duration "$duration" -warmup "$warmup" -q -trace >"$out/vs-linux.log"
if [ "$mode_rounds" -gt 0 ]; then
	echo "bench: NAPI modes" >&2
	ib -u "$image" -n napi,interrupt,busypoll -r "$mode_rounds" -I "$idle" \
		-o "$out/napi-modes" -- -duration "$duration" -warmup "$warmup" -q \
		-tests keepalive,udpecho,rps,download,upload -concurrency 1,16 >"$out/napi-modes.log"
else
	mkdir -p "$out/napi-modes"
	echo "(MODE_ROUNDS=0: not measured)" >"$out/napi-modes/ratio.txt"
	echo null >"$out/napi-modes/ratio.json"
fi
if [ "$offload_rounds" -gt 0 ]; then
	echo "bench: offloads on and off" >&2
	ib -u "$image" -n offload=on,offload=off -r "$offload_rounds" -I 0s \
		-o "$out/offload" -- -duration "$duration" -warmup "$warmup" -q \
		-tests keepalive,udpecho,rps,download,upload -concurrency 1,16 >"$out/offload.log"
	ib -u "$image" -n offload=on,offload=off -r "$offload_rounds" -I 0s \
		-S -o "$out/offload-download" -- -duration "$duration" -warmup "$warmup" -q -tests download >"$out/offload-download.log"
	"$here/tamabench.sh" costs "$out/offload-download" >"$out/offload-download/costs.txt"
fi
if [ "$jumbo_rounds" -gt 0 ]; then
	echo "bench: tamanet vs Linux at MTU 9000" >&2
	ib -u "$image" -r "$jumbo_rounds" -I 0s -U 9000 \
		-o "$out/mtu9000" -- -duration "$duration" -warmup "$warmup" -q \
		-tests keepalive,tcpecho,download,upload >"$out/mtu9000.log"
fi
if [ "$tick_rounds" -gt 0 ]; then
	echo "bench: timer tick on and off" >&2
	ib -u "$image" -n tick=on,tick=off -r "$tick_rounds" -I "$idle" \
		-o "$out/tick" -- -duration "$duration" -warmup "$warmup" -q \
		-tests keepalive,newconn,tcpecho,udpecho,rps -concurrency 1,4,16 >"$out/tick.log"
fi
if [ "$feature_rounds" -gt 0 ]; then
	echo "bench: virtio-net features on and off" >&2
	model=${nic%%,*}
	off_offloads=csum=off,guest_csum=off,host_tso4=off,host_tso6=off,guest_tso4=off,guest_tso6=off
	dev=(-dev "$model=" -dev "offloads-off=$off_offloads" -dev event-idx-off=event_idx=off -dev mrg-rxbuf-off=mrg_rxbuf=off)
	ib -u "$image" "${dev[@]}" -r "$feature_rounds" -I 0s \
		-o "$out/virtio-features" -- -duration "$duration" -warmup "$warmup" -q \
		-tests keepalive,udpecho,rps,download,upload -concurrency 1,16 >"$out/virtio-features.log"
	ib -u "$image" "${dev[@]}" -r "$feature_rounds" -I 0s \
		-S -o "$out/virtio-features-download" -- -duration "$duration" -warmup "$warmup" -q -tests download >"$out/virtio-features-download.log"
	ib -u "$image" -r "$feature_rounds" -I 0s \
		-S -o "$out/vs-linux-download" -- -duration "$duration" -warmup "$warmup" -q -tests download >"$out/vs-linux-download.log"
	"$here/tamabench.sh" costs "$out/virtio-features-download" "$out/vs-linux-download" >"$out/virtio-features-download/costs.txt"
fi
if [ "$ceiling_rounds" -gt 0 ]; then
	echo "bench: the NIC's ceiling (packet generator and sink below the stack)" >&2
	"$repo/scripts/ensure-tool.sh" nft nftables >/dev/null
	"$here/tamabench.sh" ceiling -a "$accel" -f "$firmware" -M "$machine" -nic "$nic" -r "$ceiling_rounds" \
		-seconds "$ceiling_seconds" -o "$out/ceiling" -share "$out/vs-linux/ratio.json" "$image" >"$out/ceiling.log"
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
	# Throughput (issue 22): a lead that holds on bulk and on many connections.
	$2 == "rps_c16" && $3 == "rps" { row("req/s, 16 connections / Linux", ">=1.5x", "ge", 1.5, r) }
	$2 == "rps_c64" && $3 == "rps" { row("req/s, 64 connections / Linux", ">=1.5x", "ge", 1.5, r) }
	$2 == "download" && $3 == "MB/s" { row("download MB/s / Linux", ">=1.5x", "ge", 1.5, r) }
	$2 == "upload" && $3 == "MB/s" { row("upload MB/s / Linux", ">=1.3x", "ge", 1.3, r) }
	# ... with every latency row (percentiles to p99.9) at or below Linux.
	$4 == "µs" && $3 ~ /^p[0-9.]+$/ && r + 0 > 1.0 { above = above sep $2 " " $3 " " $7; sep = ", " }
	$2 == "boot" && NF >= 9 && nic == "e1000" { row("boot to first 200 (" fw "), s", fw == "qboot" ? "<=1.1" : "<=1.25", "le", fw == "qboot" ? 1.1 : 1.25, $6 / 1000) }
	# virtio-net has no reception hold after bring-up (issue 21).
	$2 == "boot" && NF >= 9 && nic == "virtio" { row("boot to first 200 (" fw "), s", "<=0.65", "le", 0.65, $6 / 1000) }
	$2 == "idle_cpu" { row("idle host CPU, % of a core", "<=1", "le", 1, $6) }
	# The boot phase table (target phase ms step rounds): medians.
	$1 == "tamanet" && $2 == "rx_enabled" && NF == 5 { rx = $3 }
	$1 == "tamanet" && $2 == "first_200" && NF == 5 { f200 = $3 }
	$1 == "tamanet" && $2 == "vm_start" && NF >= 4 { vmstart = $3 } # the first phase has no step column
	END {
		printf "%-32s %-8s %-8s %-8s (%s)\n", "latency rows above Linux", "none", above == "" ? "none" : "some", above == "" ? "met" : "NOT met", above == "" ? "every percentile at or below" : above
		if (nic == "virtio" && vmstart != "" && f200 != "") {
			v = (f200 - vmstart) / 1000
			printf "%-32s %-8s %-8.3f %-8s (first 200 at %s ms, vm_start at %s ms)\n", "first 200 - vm_start, s", "<=0.3", v, v <= 0.3 ? "met" : "NOT met", f200, vmstart
		}
		if (nic == "e1000" && rx != "" && f200 != "") {
			v = (f200 - rx) / 1000
			printf "%-32s %-8s %-8.3f %-8s (first 200 at %s ms, RCTL written at %s ms)\n", "first 200 - RCTL write, s", "<=1.05", v, v <= 1.05 ? "met" : "NOT met", f200, rx
		}
	}
	' fw="$firmware" nic="${nic%%,*}" "$out/vs-linux/ratio.txt"
	# Interrupts per MB of download: the unikernel with every virtio-net
	# feature, median over rounds (costs.txt: target round doorbells irqs).
	costs=$out/virtio-features-download/costs.txt
	[ -f "$costs" ] || return 0
	awk -v t="tamanet-${nic%%,*}" '
		$1 == t && $4 != "-" {
			# insertion sort (mawk has no asort)
			for (i = ++n; i > 1 && v[i - 1] > $4 + 0; i--) v[i] = v[i - 1]
			v[i] = $4 + 0
		}
		END {
			if (n == 0) exit
			m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			printf "%-32s %-8s %-8.3f %-8s (%s, %d rounds)\n", "interrupts per MB of download", "<=0.3", m, m <= 0.3 ? "met" : "NOT met", t, n
		}' "$costs"
}
goals >"$out/goals.txt"

{
	printf '{\n"schema": "tamanet-bench/v1",\n"started": "%s",\n"settings": "%s",\n"network": "%s",\n' "$ts" "$settings" "$net"
	printf '"seconds": %d,\n"vs_linux": ' "$secs"
	cat "$out/vs-linux/ratio.json"
	printf ',\n"napi_modes": '
	cat "$out/napi-modes/ratio.json"
	for part in offload mtu9000 tick virtio-features; do
		[ -f "$out/$part/ratio.json" ] || continue
		printf ',\n"%s": ' "${part//-/_}"
		cat "$out/$part/ratio.json"
	done
	if [ -f "$out/ceiling/ceiling.json" ]; then
		printf ',\n"ceiling": '
		cat "$out/ceiling/ceiling.json"
		printf ',\n"ceiling_share": '
		cat "$out/ceiling/share.json"
	fi
	printf '}\n'
} >"$repo/bench/results/$ts.json"
summary_end "$out" settings.txt goals.txt bench.json="$repo/bench/results/$ts.json" \
	vs-linux/ratio.txt vs-linux/ratio.json napi-modes/ratio.txt napi-modes/ratio.json \
	offload/ratio.txt offload/ratio.json offload-download/ratio.txt offload-download/ratio.json \
	offload-download/costs.txt mtu9000/ratio.txt mtu9000/ratio.json tick/ratio.txt tick/ratio.json \
	virtio-features/ratio.txt virtio-features/ratio.json virtio-features-download/ratio.txt \
	virtio-features-download/ratio.json virtio-features-download/costs.txt vs-linux-download/ratio.txt \
	vs-linux-download/ratio.json ceiling/ceiling.txt ceiling/ceiling.json ceiling/share.txt ceiling/share.json

echo
echo "== tamanet / Linux ($settings) =="
cat "$out/vs-linux/ratio.txt"
echo
echo "== NAPI modes, base tamanet-napi =="
cat "$out/napi-modes/ratio.txt"
for part in offload mtu9000 tick virtio-features; do
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
	virtio-features)
		echo "== virtio-net features, base tamanet-${nic%%,*} (every feature the device offers; each other target turns one group off) =="
		cat "$out/virtio-features/ratio.txt"
		echo
		echo "== per-MB costs of the download (guest /stats; Linux counts no notifications) =="
		cat "$out/virtio-features-download/costs.txt"
		;;
	esac
done
if [ -f "$out/ceiling/ceiling.txt" ]; then
	echo
	echo "== the NIC's ceiling: $nic with no stack above it (boot option pktgen=) =="
	cat "$out/ceiling/ceiling.txt"
	echo
	cat "$out/ceiling/share.txt"
fi
echo
echo "== goals (numbers from network $net) =="
cat "$out/goals.txt"
echo
echo "bench: $secs s; results in $out/ and $repo/bench/results/$ts.json"
echo "bench: summary in $out/summary/ (bench/record.sh $out NAME files it under bench/notes/)"
