#!/bin/bash
# Boots the Linux baseline under QEMU (TCG, through qemu.sh as the unikernel
# is booted), measures boot-to-first-response with tamabench, optionally
# runs the benchmark against it, and stops the guest.
#
#   [NIC=e1000|virtio] [MACHINE=pc|q35|microvm] bench/linux/smoke.sh [tamabench run flags...]
#
# With no arguments it only checks GET / and the echo ports; with arguments
# (e.g. -duration 5s -out bench/results) it runs "tamabench run -name linux"
# with them. Ports: TB_HTTP_PORT (18080), TB_ECHO_PORT (18007), on 127.0.0.1.
# NIC (qemu.sh -n, default e1000) picks the device and the image's driver;
# its device properties (NIC=virtio,mrg_rxbuf=off) go to the device.
# The bench proper boots through qemu.sh; this script exists to check the
# baseline by itself.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
http_port=${TB_HTTP_PORT:-18080}
echo_port=${TB_ECHO_PORT:-18007}
nic=${NIC:-e1000} machine=${MACHINE:-pc}

img=$("$here/build.sh" --nic "${nic%%,*}")
tmp=$(mktemp -d)
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
(cd "$repo" && go build -o "$tmp/tamabench" ./cmd/tamabench)

start=$(date +%s%N)
# qemu.sh execs QEMU in user networking, so $qpid is QEMU's.
"$repo/qemu.sh" -a tcg -f seabios -M "$machine" -n "$nic" -p "$http_port" -e "$echo_port" \
	-i "$img/initramfs.cpio.gz" -k "console=ttyS0 quiet panic=-1" "$img/vmlinuz" \
	</dev/null >"$tmp/console.log" 2>&1 &
qpid=$!

if ! "$tmp/tamabench" boot -url "http://127.0.0.1:$http_port/" -start "$start" -timeout 180s; then
	echo "smoke: no answer; console:" >&2
	cat "$tmp/console.log" >&2
	exit 1
fi
grep -a -o -E '(qemu.sh: nic|init:|READY).*' "$tmp/console.log" >&2 || true
body=$(curl -sS --noproxy '*' "http://127.0.0.1:$http_port/")
[ "$body" = "hello from linux" ] || { echo "smoke: GET / said: $body" >&2; exit 1; }
if [ $# -eq 0 ]; then
	"$tmp/tamabench" run -name linux -host 127.0.0.1 -http-port "$http_port" -tcp-port "$echo_port" \
		-udp-port "$echo_port" -tests keepalive,tcpecho,udpecho -duration 0 -max-ops 20 -warmup 0 -q -strict
else
	"$tmp/tamabench" run -name linux -host 127.0.0.1 -http-port "$http_port" -tcp-port "$echo_port" \
		-udp-port "$echo_port" -note "qemu tcg, nic $nic, Debian $(sed -n 's/^kernel //p' "$img/manifest.txt")" "$@"
fi
