#!/usr/bin/env bash
# Boots a tamanet image (or any PVH kernel) in QEMU with an e1000.
#
#   ./qemu.sh [options] IMAGE [-- extra qemu args]
#     -a tcg|kvm|auto   accelerator (default auto: KVM only if a probe boot of
#                       a 64-bit image works on it, which it does not on every
#                       host that has /dev/kvm)
#     -m SIZE           guest RAM (default 1G)
#     -p PORT           host port forwarded from 127.0.0.1 to guest port 80
#     -e PORT           host port forwarded from 127.0.0.1 to guest port 7 (TCP and UDP)
#     -M MACHINE        pc (default) or q35
#     -i INITRD         initrd (Linux baseline)
#     -k CMDLINE        kernel command line
#     -P PROBE          image used by the KVM probe (default: IMAGE)
#     -q SOCKET         QMP monitor on this unix socket (default: none), e.g.
#                       for set_link (the e1000's netdev is net0)
#
# The guest gets user networking (10.0.2.15/24, gateway 10.0.2.2); host
# ports are bound to 127.0.0.1 only. The serial console is stdio. The
# accelerator used is printed on stderr.
set -euo pipefail

accel=auto mem=1G http_port="" echo_port="" machine=pc initrd="" cmdline="" probe="" qmp=""
while getopts "a:m:p:e:M:i:k:P:q:" opt; do
	case $opt in
	a) accel=$OPTARG ;; m) mem=$OPTARG ;; p) http_port=$OPTARG ;; e) echo_port=$OPTARG ;;
	M) machine=$OPTARG ;; i) initrd=$OPTARG ;; k) cmdline=$OPTARG ;; P) probe=$OPTARG ;;
	q) qmp=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [options] IMAGE [-- qemu args]" >&2; exit 2; }
image=$1; shift
[ "${1:-}" = "--" ] && shift
[ -f "$image" ] || { echo "qemu.sh: no image at $image (run make image)" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
qemu=$("$here/scripts/ensure-qemu.sh")

if [ "$accel" = auto ]; then
	accel=$("$here/scripts/probe-kvm.sh" "$qemu" "${probe:-$image}" "$machine")
fi
case $accel in
tcg) accel_args=(-accel tcg -cpu qemu64,+pdpe1gb,+rdrand) ;;
kvm) accel_args=(-accel kvm -cpu host) ;;
*) echo "qemu.sh: unknown accelerator $accel" >&2; exit 2 ;;
esac
echo "qemu.sh: accelerator $accel" >&2

fwd=""
[ -n "$http_port" ] && fwd="$fwd,hostfwd=tcp:127.0.0.1:$http_port-:80"
[ -n "$echo_port" ] && fwd="$fwd,hostfwd=tcp:127.0.0.1:$echo_port-:7,hostfwd=udp:127.0.0.1:$echo_port-:7"

args=(-M "$machine" "${accel_args[@]}" -m "$mem" -smp 1
	-nographic -no-reboot -serial stdio -monitor none
	-kernel "$image"
	-netdev "user,id=net0$fwd" -device e1000,netdev=net0,romfile=
	-device isa-debug-exit,iobase=0xf4,iosize=4)
[ -n "$initrd" ] && args+=(-initrd "$initrd")
[ -n "$cmdline" ] && args+=(-append "$cmdline")
[ -n "$qmp" ] && args+=(-qmp "unix:$qmp,server=on,wait=off")
exec "$qemu" "${args[@]}" "$@"
