#!/bin/bash
# Interleaved benchmark of the tamanet unikernel against the Linux baseline:
# each round boots each guest in turn through qemu.sh (same QEMU, machine,
# e1000, memory, CPUs, accelerator and network), measures it with tamabench
# (boot-to-first-response, then the QEMU process's idle host CPU, then the
# load tests), and stops it. The order of targets rotates every round so
# drift on the host does not favour one. At the end "tamabench compare"
# prints medians across rounds and ratios to the base.
#
#   bench/interleave.sh [-u UNIKERNEL_IMAGE] [-n VARIANTS] [-r ROUNDS] [-o OUTDIR]
#                       [-a tcg|kvm] [-f seabios|qboot] [-N user|tap|auto] [-I IDLE] [-6]
#                       [-U MTU] [-S] [-- tamabench run flags]
#
# Without -u only the Linux baseline is measured (no ratio table). With -n
# the targets are variants of the unikernel, compared with the first; Linux
# is not booted. A variant is a napi= mode (napi,interrupt,busypoll: targets
# tamanet-MODE) or boot options joined by "+" (offload=on,offload=off:
# targets tamanet-offload-on, tamanet-offload-off).
# -U runs every guest at that MTU (tap mode): the tap, the unikernel
# (mtu=) and the Linux guest (bench.mtu=, read by its /init).
# -S saves the unikernel's /stats after each run as stats/TARGET-rROUND.json.
# -N picks the network: user (QEMU user net, 127.0.0.1 port forwards), tap
# (qemu.sh -t: a namespace of its own holding a tap and the client) or auto
# (tap where the machine allows it, else user). Results record it.
# -I is the idle CPU measurement per boot (default 10s; 0s skips it).
# -f is the firmware both guests boot through (qemu.sh -f; default qboot).
# -6 measures over IPv6 (tap only): both guests get fd00:1::15/64 (tamanet
# with ip6=, Linux with bench.ip6=), the tap fd00:1::2/64 (qemu.sh -6).
# Defaults: 3 rounds, OUTDIR bench/results/<UTC time>, accelerator tcg
# (KVM hangs 64-bit guests on the project machines; see shared/DESIGN.md),
# network user. Ports: TB_HTTP_PORT (18080) and TB_ECHO_PORT (18007) on
# 127.0.0.1 in user mode.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

uni="" modes="" rounds=3 out="" accel=tcg firmware=qboot net=user idle=10s ipv6=0 mtu="" savestats=0
while getopts "u:n:r:o:a:f:N:I:6U:S" opt; do
	case $opt in
	u) uni=$OPTARG ;; n) modes=$OPTARG ;; r) rounds=$OPTARG ;; o) out=$OPTARG ;; a) accel=$OPTARG ;; f) firmware=$OPTARG ;;
	N) net=$OPTARG ;; I) idle=$OPTARG ;; 6) ipv6=1 ;; U) mtu=$OPTARG ;; S) savestats=1 ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
[ -z "$uni" ] || [ -f "$uni" ] || { echo "interleave: no unikernel image at $uni" >&2; exit 2; }
[ -z "$modes" ] || [ -n "$uni" ] || { echo "interleave: -n needs -u" >&2; exit 2; }
case $net in
user | tap) ;;
auto) if "$repo/qemu.sh" -T; then net=tap; else net=user; fi ;;
*) echo "interleave: -N $net: want user, tap or auto" >&2; exit 2 ;;
esac
if [ "$net" = tap ] && ! "$repo/qemu.sh" -T; then
	echo "interleave: tap mode asked for but unavailable" >&2
	exit 1
fi
if [ $ipv6 = 1 ] && [ "$net" != tap ]; then
	echo "interleave: -6 needs tap mode (-N tap), which this machine does not allow" >&2
	exit 1
fi
if [ $savestats = 1 ] && ! command -v curl >/dev/null; then
	echo "interleave: -S needs curl" >&2
	exit 2
fi
if [ -n "$mtu" ] && [ "$net" != tap ]; then
	echo "interleave: -U $mtu needs tap mode (user networking stays at 1500)" >&2
	exit 2
fi
guest=10.0.2.15 guest6=fd00:1::15/64 v6note=""
if [ $ipv6 = 1 ]; then
	guest=${guest6%/*}
	v6note=" ipv6"
fi
v6note="$v6note${mtu:+ mtu $mtu}"
echo "interleave: network $net$v6note" >&2
out=${out:-$repo/bench/results/$(date -u +%Y%m%dT%H%M%SZ)}
http_port=${TB_HTTP_PORT:-18080}
echo_port=${TB_ECHO_PORT:-18007}
admin_port=${TB_ADMIN_PORT:-18081}
# The unikernel's admin listener (its boot phases and latency trace), open
# to the host as user networking and the tap namespace show it.
guest_admin=8081
admin_opts="admin=$guest_admin adminallow=10.0.2.2/32,fd00:1::2/128"
mkdir -p "$out"

tmp=$(mktemp -d)
tb=$tmp/tamabench
(cd "$repo" && go build -o "$tb" ./cmd/tamabench)

# cmdline[TARGET] is a unikernel target's boot options.
targets=() base=linux
declare -A cmdline=([tamanet]="")
if [ -n "$modes" ]; then
	IFS=, read -ra ms <<<"$modes"
	for m in "${ms[@]}"; do
		case $m in
		*=*) t=tamanet-${m//[=+]/-} cmdline[$t]=${m//+/ } ;;
		*) t=tamanet-$m cmdline[$t]="napi=$m" ;;
		esac
		targets+=("$t")
	done
	base=${targets[0]}
else
	linux=$("$here/linux/build.sh")
	cp "$linux/manifest.txt" "$out/linux-manifest.txt"
	[ -n "$uni" ] && targets+=(tamanet)
	targets+=(linux)
fi

netns=tamanet-bench-$$
qpid=
stop_guest() {
	if [ -n "$qpid" ]; then
		kill "$qpid" 2>/dev/null || true
		wait "$qpid" 2>/dev/null || true
		qpid=
	fi
}
# qemu.sh removes its namespace; this is for a qemu.sh that was killed hard.
cleanup() {
	stop_guest
	rm -rf "$tmp"
	if [ "$net" = tap ]; then ip netns del "$netns" 2>/dev/null || true; fi
}
trap cleanup EXIT

# boot TARGET: start the guest in the background; sets qpid (qemu.sh),
# start (ns) and waits for QEMU's pid file (in tap mode the namespace
# exists from then on).
boot() {
	local log=$out/console-$1-r$round.log netargs=(-p "$http_port" -e "$echo_port")
	local k=${cmdline[$1]:-} lk="console=ttyS0 quiet panic=-1"
	[ "$net" = tap ] && netargs=(-t "$netns")
	if [ $ipv6 = 1 ]; then
		netargs+=(-6)
		k="${k:+$k }ip6=$guest6" lk="$lk bench.ip6=$guest6"
	fi
	if [ -n "$mtu" ]; then
		netargs+=(-u "$mtu")
		k="${k:+$k }mtu=$mtu" lk="$lk bench.mtu=$mtu"
	fi
	local kargs=()
	[ -n "$k" ] && kargs=(-k "$k")
	rm -f "$tmp/qemu.pid"
	start=$(date +%s%N)
	case $1 in
	linux)
		"$repo/qemu.sh" -a "$accel" -f "$firmware" "${netargs[@]}" \
			-i "$linux/initramfs.cpio.gz" -k "$lk" "$linux/vmlinuz" \
			-- -pidfile "$tmp/qemu.pid" </dev/null >"$log" 2>&1 &
		;;
	tamanet*)
		kargs=(-k "${k:+$k }$admin_opts")
		[ "$net" = tap ] || netargs+=(-F "$admin_port:$guest_admin")
		"$repo/qemu.sh" -a "$accel" -f "$firmware" "${netargs[@]}" "${kargs[@]}" "$uni" \
			-- -pidfile "$tmp/qemu.pid" </dev/null >"$log" 2>&1 &
		;;
	esac
	qpid=$!
	for _ in $(seq 1 300); do
		[ -s "$tmp/qemu.pid" ] && return 0
		kill -0 "$qpid" 2>/dev/null || break
		sleep 0.1
	done
	echo "interleave: QEMU for $1 did not start; console:" >&2
	cat "$log" >&2
	exit 1
}

# measure TARGET: tamabench against the booted guest, from the host (user)
# or inside the namespace (tap).
measure() {
	local name=$1
	shift
	local idleargs=() client=("$tb") hostargs=(-host 127.0.0.1 -http-port "$http_port" -tcp-port "$echo_port" -udp-port "$echo_port")
	local adminargs=()
	[ "$name" = linux ] || adminargs=(-admin-port "$admin_port")
	[ "$idle" != 0s ] && [ "$idle" != 0 ] && idleargs=(-idle-pid "$(cat "$tmp/qemu.pid")" -idle-time "$idle")
	if [ "$net" = tap ]; then
		client=(ip netns exec "$netns" "$tb")
		hostargs=(-tap -host "$guest" -http-port 80 -tcp-port 7 -udp-port 7)
		[ "$name" = linux ] || adminargs=(-admin-port "$guest_admin")
	fi
	"${client[@]}" run -name "$name" -round "$round" "${hostargs[@]}" ${adminargs[@]+"${adminargs[@]}"} -boot-start "$start" -boot-timeout 300s \
		"${idleargs[@]}" -note "qemu $accel, $firmware, net $net$v6note" -out "$out" "$@"
}

# save_stats FILE: the booted unikernel's GET /stats.
save_stats() {
	mkdir -p "$(dirname "$1")"
	local url=http://127.0.0.1:$http_port/stats get=(curl -s -m 30)
	if [ "$net" = tap ]; then
		url=http://$guest/stats
		[ $ipv6 = 1 ] && url="http://[$guest]/stats"
		get=(ip netns exec "$netns" curl -s -m 30)
	fi
	"${get[@]}" "$url" >"$1" || echo "interleave: no /stats from the guest" >&2
}

for round in $(seq 1 "$rounds"); do
	n=${#targets[@]}
	order=()
	for i in $(seq 0 $((n - 1))); do order+=("${targets[$(((i + round - 1) % n))]}"); done
	for t in "${order[@]}"; do
		echo "interleave: round $round/$rounds: $t (net $net)" >&2
		boot "$t"
		measure "$t" "$@" | tee "$out/$t-r$round.txt"
		[ $savestats = 1 ] && [ "$t" != linux ] && save_stats "$out/stats/$t-r$round.json"
		stop_guest
	done
done
echo "$net$v6note" >"$out/network.txt"
if [ ${#targets[@]} -ge 2 ]; then
	files=()
	for t in "${targets[@]}"; do files+=("$out/$t"-r*.json); done
	"$tb" compare -base "$base" -json "$out/ratio.json" -plots "$out" "${files[@]}" | tee "$out/ratio.txt"
fi
echo "interleave: results in $out" >&2
