#!/bin/bash
# Interleaved benchmark of the tamanet unikernel against the Linux baseline:
# each round boots each guest in turn through qemu.sh (same QEMU, machine,
# e1000, memory, CPUs, accelerator and port forwards), measures it with
# tamabench (boot-to-first-response first), and stops it. Targets alternate
# order every round so drift on the host does not favour one. At the end
# "tamabench compare" prints medians across rounds and ratios to Linux.
#
#   bench/interleave.sh [-u UNIKERNEL_IMAGE] [-r ROUNDS] [-o OUTDIR] [-a tcg|kvm] [-- tamabench run flags]
#
# Without -u only the Linux baseline is measured (no ratio table).
# Defaults: 3 rounds, OUTDIR bench/results/<UTC time>, accelerator tcg
# (KVM hangs 64-bit guests on the project machines; see shared/DESIGN.md).
# Ports: TB_HTTP_PORT (18080) and TB_ECHO_PORT (18007) on 127.0.0.1.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

uni="" rounds=3 out="" accel=tcg
while getopts "u:r:o:a:" opt; do
	case $opt in
	u) uni=$OPTARG ;; r) rounds=$OPTARG ;; o) out=$OPTARG ;; a) accel=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
[ -z "$uni" ] || [ -f "$uni" ] || { echo "interleave: no unikernel image at $uni" >&2; exit 2; }
out=${out:-$repo/bench/results/$(date -u +%Y%m%dT%H%M%SZ)}
http_port=${TB_HTTP_PORT:-18080}
echo_port=${TB_ECHO_PORT:-18007}
mkdir -p "$out"

linux=$("$here/linux/build.sh")
tmp=$(mktemp -d)
tb=$tmp/tamabench
(cd "$repo" && go build -o "$tb" ./cmd/tamabench)

qpid=
stop_guest() {
	if [ -n "$qpid" ]; then
		kill "$qpid" 2>/dev/null || true
		wait "$qpid" 2>/dev/null || true
		qpid=
	fi
}
trap 'stop_guest; rm -rf "$tmp"' EXIT

# boot TARGET: start the guest in the background; sets qpid and start.
boot() {
	local log=$out/console-$1-r$round.log
	start=$(date +%s%N)
	case $1 in
	linux)
		"$repo/qemu.sh" -a "$accel" -p "$http_port" -e "$echo_port" \
			-i "$linux/initramfs.cpio.gz" -k "console=ttyS0 quiet panic=-1" "$linux/vmlinuz" \
			</dev/null >"$log" 2>&1 &
		;;
	tamanet)
		"$repo/qemu.sh" -a "$accel" -p "$http_port" -e "$echo_port" "$uni" </dev/null >"$log" 2>&1 &
		;;
	esac
	qpid=$!
}

targets=(linux)
[ -n "$uni" ] && targets=(tamanet linux)
for round in $(seq 1 "$rounds"); do
	order=("${targets[@]}")
	if [ $((round % 2)) = 0 ] && [ ${#targets[@]} = 2 ]; then
		order=("${targets[1]}" "${targets[0]}")
	fi
	for t in "${order[@]}"; do
		echo "interleave: round $round/$rounds: $t" >&2
		boot "$t"
		"$tb" run -name "$t" -round "$round" -host 127.0.0.1 -http-port "$http_port" \
			-tcp-port "$echo_port" -udp-port "$echo_port" -boot-start "$start" -boot-timeout 300s \
			-note "qemu $accel" -out "$out" "$@" | tee "$out/$t-r$round.txt"
		stop_guest
	done
done
if [ ${#targets[@]} = 2 ]; then
	"$tb" compare -base linux -json "$out/ratio.json" -plots "$out" "$out"/tamanet-r*.json "$out"/linux-r*.json |
		tee "$out/ratio.txt"
fi
cp "$linux/manifest.txt" "$out/linux-manifest.txt"
echo "interleave: results in $out" >&2
