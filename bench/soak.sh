#!/bin/bash
# make soak: a long run of the unikernel under mixed load, with link flaps.
#
#   bench/soak.sh IMAGE
#
# Boots IMAGE with qemu.sh (accelerator ACCEL, default tcg; network NET:
# user (default), tap or auto) with a QMP socket, waits for READY, then runs
# "tamabench soak" for SOAK (default 10m): keep-alive and new-connection
# GETs, downloads and uploads checked by SHA-256, TCP and UDP echo, 500
# idle connections, a set_link flap every 30 s, and a /stats sample (after
# a forced GC) every 10 s. Results go to bench/results/soak-<UTC time>/:
# soak.json (the report), soak.txt (its summary), soak-heap.png and
# soak-goroutines.png, console.log and machine.txt. The exit status is
# tamabench's: 0 if the run passed every check, 1 if it failed one.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
[ $# = 1 ] && [ -f "$1" ] || { echo "usage: $0 UNIKERNEL_IMAGE" >&2; exit 2; }
image=$1
duration=${SOAK:-10m} net=${NET:-user} accel=${ACCEL:-tcg}
http_port=${TB_HTTP_PORT:-18080} echo_port=${TB_ECHO_PORT:-18007} admin_port=${TB_ADMIN_PORT:-18081}

"$repo/scripts/ensure-qemu.sh" >/dev/null
case $net in
user | tap) ;;
auto) if "$repo/qemu.sh" -T 2>/dev/null; then net=tap; else net=user; fi ;;
*) echo "soak: NET=$net: want user, tap or auto" >&2; exit 2 ;;
esac
if [ "$net" = tap ] && ! "$repo/qemu.sh" -T; then
	echo "soak: tap mode asked for but unavailable" >&2
	exit 1
fi
out=$repo/bench/results/soak-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
tmp=$(mktemp -d)
netns=tamanet-soak-$$
qpid=
cleanup() {
	if [ -n "$qpid" ]; then
		kill "$qpid" 2>/dev/null || true
		wait "$qpid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
	if [ "$net" = tap ]; then ip netns del "$netns" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

(cd "$repo" && go build -o "$tmp/tamabench" ./cmd/tamabench)
{
	echo "uname: $(uname -srm)"
	echo "cpu: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1) x $(nproc)"
	echo "qemu: $(qemu-system-x86_64 --version | head -n1)"
	echo "settings: accel $accel, network $net, duration $duration"
	echo "uptime before: $(uptime)"
} >"$out/machine.txt"

# The admin listener (guest port 8081) serves the forced collections the
# live heap is read after.
netargs=(-p "$http_port" -e "$echo_port" -F "$admin_port:8081")
client=("$tmp/tamabench")
target=(-host 127.0.0.1 -http-port "$http_port" -tcp-port "$echo_port" -udp-port "$echo_port" -admin-port "$admin_port")
if [ "$net" = tap ]; then
	netargs=(-t "$netns")
	client=(ip netns exec "$netns" "$tmp/tamabench")
	target=(-tap -host 10.0.2.15 -http-port 80 -tcp-port 7 -udp-port 7 -admin-port 8081)
fi
echo "soak: booting $image (accel $accel, network $net)" >&2
"$repo/qemu.sh" -a "$accel" "${netargs[@]}" -q "$tmp/qmp.sock" -k admin=8081 "$image" </dev/null >"$out/console.log" 2>&1 &
qpid=$!
for _ in $(seq 1 3000); do
	grep -q '^READY' "$out/console.log" && break
	kill -0 "$qpid" 2>/dev/null || { echo "soak: QEMU ended before READY; console:" >&2; cat "$out/console.log" >&2; exit 1; }
	sleep 0.1
done
grep -q '^READY' "$out/console.log" || { echo "soak: no READY within 5 minutes" >&2; exit 1; }
grep '^READY' "$out/console.log" >&2

status=0
"${client[@]}" soak "${target[@]}" -qmp "$tmp/qmp.sock" -duration "$duration" -out "$out" \
	-note "qemu $accel, net $net" | tee "$out/soak.txt" || status=$?
echo "uptime after: $(uptime)" >>"$out/machine.txt"
echo "soak: results in $out" >&2
exit $status
