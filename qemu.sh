#!/usr/bin/env bash
# Boots a tamanet image (or any PVH kernel) in QEMU with an e1000 or a
# virtio-net NIC.
#
#   ./qemu.sh [options] IMAGE [-- extra qemu args]
#     -a tcg|kvm|auto   accelerator (default auto). This is the one statement
#                       of the rule, for make run, make bench, make soak,
#                       bench/*.sh, tamabench and the tests alike: auto means
#                       KVM only if a probe boot of the image works on it
#                       (scripts/probe-kvm.sh), else TCG, because /dev/kvm
#                       existing is not enough (some hosts hang 64-bit guests
#                       under KVM). Benchmarks decide auto once per run
#                       (tamabench accel, vm.ResolveAccel: the same probe)
#                       and boot every guest of the run, unikernel and Linux
#                       alike, on that accelerator, which their results
#                       record: TCG and KVM figures do not compare.
#     -m SIZE           guest RAM (default 1G)
#     -p PORT           host port forwarded from 127.0.0.1 to guest port 80
#     -e PORT           host port forwarded from 127.0.0.1 to guest port 7 (TCP and UDP)
#     -F [PROTO:]HOST:GUEST
#                       another port forward from 127.0.0.1:HOST to guest
#                       port GUEST (repeatable); PROTO is tcp (default), udp
#                       or tcp+udp, e.g. -F 8081:8081 for the admin listener
#                       of boot option admin=8081
#     -M MACHINE        pc (default), q35 or microvm (no PCI: virtio-net only)
#     -n NIC[,PROP=VAL...]
#                       the network device: e1000 (default; pc and q35) or
#                       virtio: virtio-net-pci on pc and q35 (transitional:
#                       legacy I/O BAR, modern capabilities, MSI-X), on
#                       microvm virtio-net-device on a virtio-mmio transport
#                       in its modern (version 2) register layout. PROP=VAL
#                       pairs are appended to the -device, e.g. -n
#                       virtio,mrg_rxbuf=off,event_idx=off or -n
#                       virtio,disable-legacy=on. Its netdev is net0 either
#                       way (QMP set_link).
#     -f FIRMWARE       qboot (default: QEMU's qboot.rom, which starts a PVH
#                       image much sooner than SeaBIOS and assigns no PCI
#                       BARs, which tamanet then does itself) or seabios
#                       (QEMU's own default); ignored on microvm, which has
#                       its own
#     -i INITRD         initrd (Linux baseline)
#     -k CMDLINE        kernel command line
#     -P PROBE          image used by the KVM probe (default: IMAGE)
#     -q SOCKET         QMP monitor on this unix socket (default: none), e.g.
#                       for set_link (the NIC's netdev is net0)
#     -t NETNS          tap mode: create network namespace NETNS holding a tap
#                       (tap0, 10.0.2.2/24) and run QEMU inside it; -p/-e/-F
#                       are ignored, clients reach the guest at 10.0.2.15 with
#                       "ip netns exec NETNS ..."; both are removed when QEMU
#                       exits. Falls back to user networking, with a message,
#                       where the machine does not allow it.
#     -u MTU            tap mode: the tap's MTU (default 1500), for jumbo frames
#     -H MAC            tap mode: the tap's MAC address (default: the kernel's
#                       random one), for a guest told the host's address on
#                       its command line (e.g. boot option pktgen_dst=)
#     -T                only check whether tap mode works here: exit 0 if it
#                       does, else say why and exit 1
#     -0                no network device at all (tests of a missing NIC)
#     -X                no isa-debug-exit device (tests of a machine the guest
#                       cannot end with a status)
#     -6                with -t: IPv6 on the tap too (fd00:1::2/64 besides its
#                       link-local address), e.g. for radvd in the namespace
#
# By default the guest gets user networking (10.0.2.15/24, gateway 10.0.2.2);
# host ports are bound to 127.0.0.1 only. In tap mode 10.0.2.0/24 exists only
# inside the namespace, which has no other interface, so no guest packet
# leaves it. The serial console is stdio. The accelerator and network mode
# used are printed on stderr.
set -euo pipefail

accel=auto mem=1G http_port="" echo_port="" forwards=() machine=pc firmware=qboot initrd="" cmdline="" probe="" qmp="" netns="" tapcheck=0 tapmtu=1500 tapmac="" nonic=0 tap6=0 debugexit=1 nicopt=e1000
while getopts "a:m:p:e:F:M:f:i:k:n:P:q:t:Tu:H:06X" opt; do
	case $opt in
	a) accel=$OPTARG ;; m) mem=$OPTARG ;; p) http_port=$OPTARG ;; e) echo_port=$OPTARG ;;
	F) case $OPTARG in
		[0-9]*:[0-9]*) forwards+=("tcp:$OPTARG") ;;
		tcp:[0-9]*:[0-9]* | udp:[0-9]*:[0-9]* | tcp+udp:[0-9]*:[0-9]*) forwards+=("$OPTARG") ;;
		*) echo "qemu.sh: -F $OPTARG: want [tcp:|udp:|tcp+udp:]HOSTPORT:GUESTPORT" >&2; exit 2 ;;
		esac ;;
	M) machine=$OPTARG ;; f) firmware=$OPTARG ;; i) initrd=$OPTARG ;; k) cmdline=$OPTARG ;; n) nicopt=$OPTARG ;; P) probe=$OPTARG ;;
	q) qmp=$OPTARG ;; t) netns=$OPTARG ;; T) tapcheck=1 ;; u) tapmtu=$OPTARG ;; H) tapmac=$OPTARG ;; 0) nonic=1 ;; 6) tap6=1 ;; X) debugexit=0 ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
case $tapmtu in '' | *[!0-9]*) echo "qemu.sh: -u $tapmtu: want a number" >&2; exit 2 ;; esac
case $tapmac in '' | [0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]) ;;
*) echo "qemu.sh: -H $tapmac: want a MAC address XX:XX:XX:XX:XX:XX" >&2; exit 2 ;;
esac
# The NIC's -device: the model, netdev net0, then -n's properties.
nicprops=""
[ "${nicopt#*,}" != "$nicopt" ] && nicprops=,${nicopt#*,}
case ${nicopt%%,*}:$machine in
e1000:microvm*)
	# With -0 there is no NIC to refuse.
	if [ $nonic = 0 ]; then
		echo "qemu.sh: -n e1000: microvm has no PCI bus for an e1000; use -n virtio (virtio-net on virtio-mmio)" >&2
		exit 2
	fi ;;
e1000:*) nicdev=(-device "e1000,netdev=net0,romfile=$nicprops") ;;
virtio:microvm*)
	# QEMU's virtio-mmio defaults to the legacy (version 1) layout.
	nicdev=(-device "virtio-net-device,netdev=net0$nicprops" -global virtio-mmio.force-legacy=false) ;;
virtio:*) nicdev=(-device "virtio-net-pci,netdev=net0,romfile=$nicprops") ;;
*) echo "qemu.sh: -n $nicopt: want e1000 or virtio, then optional ,PROP=VALUE device properties" >&2; exit 2 ;;
esac

# tap_unavailable prints why tap mode cannot work here, or nothing if it can:
# it needs root (CAP_NET_ADMIN), /dev/net/tun and ip netns, and tries them
# on a throwaway namespace.
tap_unavailable() {
	local ns=tamanet-probe-$$
	[ "$(id -u)" = 0 ] || { echo "not root"; return; }
	[ -c /dev/net/tun ] || { echo "no /dev/net/tun"; return; }
	command -v ip >/dev/null || { echo "no ip command (iproute2)"; return; }
	ip netns add "$ns" 2>/dev/null || { echo "ip netns add fails"; return; }
	ip netns exec "$ns" ip tuntap add dev tap0 mode tap 2>/dev/null || echo "cannot create a tap device"
	ip netns del "$ns" 2>/dev/null || true
}
if [ $tapcheck = 1 ]; then
	why=$(tap_unavailable)
	[ -z "$why" ] && exit 0
	echo "qemu.sh: tap mode unavailable: $why" >&2
	exit 1
fi
if [ -n "$netns" ]; then
	why=$(tap_unavailable)
	if [ -n "$why" ]; then
		echo "qemu.sh: tap mode unavailable ($why): falling back to user networking" >&2
		netns=""
	elif [ -e "/var/run/netns/$netns" ]; then
		echo "qemu.sh: network namespace $netns already exists" >&2
		exit 2
	fi
fi
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
case $machine:$firmware in
microvm*:* | *:seabios) fw_args=() ;;
*:qboot) fw_args=(-bios qboot.rom) ;;
*) echo "qemu.sh: unknown firmware $firmware (want seabios or qboot)" >&2; exit 2 ;;
esac
echo "qemu.sh: firmware $firmware" >&2
[ $nonic = 1 ] || echo "qemu.sh: nic ${nicdev[1]}" >&2

fwd=""
[ -n "$http_port" ] && fwd="$fwd,hostfwd=tcp:127.0.0.1:$http_port-:80"
[ -n "$echo_port" ] && fwd="$fwd,hostfwd=tcp:127.0.0.1:$echo_port-:7,hostfwd=udp:127.0.0.1:$echo_port-:7"
for f in ${forwards[@]+"${forwards[@]}"}; do
	proto=${f%%:*} ports=${f#*:}
	for p in ${proto/+/ }; do
		fwd="$fwd,hostfwd=$p:127.0.0.1:${ports%%:*}-:${ports#*:}"
	done
done
netdev=(-netdev "user,id=net0$fwd")
[ -n "$netns" ] && netdev=(-netdev tap,id=net0,ifname=tap0,script=no,downscript=no)

nic=("${netdev[@]}" "${nicdev[@]}")
[ $nonic = 1 ] && nic=(-nic none)
args=(-M "$machine" "${accel_args[@]}" "${fw_args[@]}" -m "$mem" -smp 1
	-nographic -no-reboot -serial stdio -monitor none
	-name "$(basename "$image"),debug-threads=on"
	-kernel "$image"
	"${nic[@]}")
[ $debugexit = 1 ] && args+=(-device isa-debug-exit,iobase=0xf4,iosize=4)
[ -n "$initrd" ] && args+=(-initrd "$initrd")
[ -n "$cmdline" ] && args+=(-append "$cmdline")
[ -n "$qmp" ] && args+=(-qmp "unix:$qmp,server=on,wait=off")
if [ -z "$netns" ]; then
	echo "qemu.sh: network user (127.0.0.1 port forwards)" >&2
	exec "$qemu" "${args[@]}" "$@"
fi

# Tap mode: QEMU runs as a child so the namespace (and the tap in it) is
# removed however QEMU ends, and whatever signal ends this script.
qpid=""
cleanup() {
	# Nothing may cut the cleanup short: not a second signal (a launcher
	# killed with its threads sends its parent-death signal once per
	# thread that dies), not a job report from bash into a console pipe
	# whose reader is gone (SIGPIPE).
	trap '' TERM INT HUP PIPE
	exec >/dev/null 2>&1
	if [ -n "$qpid" ]; then
		kill "$qpid" 2>/dev/null || true
		wait "$qpid" 2>/dev/null || true
	fi
	ip netns del "$netns" 2>/dev/null || true
}
# The first signal ends the script; later ones are ignored at once, so
# they cannot end the cleanup it runs on the way out (see cleanup).
trap cleanup EXIT
for s in TERM:143 INT:130 HUP:129; do
	trap "trap '' TERM INT HUP; exit ${s#*:}" "${s%:*}"
done
ip netns add "$netns"
# IPv6 stays off the tap unless asked for, so the host side sends nothing
# (router solicitations, MLD, DAD) the guest would have to handle.
ip netns exec "$netns" sh -e -c '
	ip link set lo up
	ip tuntap add dev tap0 mode tap
	sysctl -qw net.ipv6.conf.tap0.disable_ipv6=$0
	ip addr add 10.0.2.2/24 dev tap0
	if [ $0 = 0 ]; then ip -6 addr add fd00:1::2/64 dev tap0 nodad; fi
	ip link set tap0 mtu $1
	if [ -n "$2" ]; then ip link set tap0 address $2; fi
	ip link set tap0 up' $((1 - tap6)) "$tapmtu" "$tapmac"
v6=""
[ $tap6 = 1 ] && v6=", fd00:1::2/64"
echo "qemu.sh: network tap (namespace $netns, tap0 10.0.2.2/24$v6 mtu $tapmtu, guest 10.0.2.15)" >&2
ip netns exec "$netns" "$qemu" "${args[@]}" "$@" <&0 &
qpid=$!
status=0
wait "$qpid" || status=$?
qpid=""
exit $status
