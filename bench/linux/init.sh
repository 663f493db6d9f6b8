#!/bin/busybox sh
# /init of the Linux baseline initramfs (built by bench/linux/build.sh).
# Brings up eth0 on QEMU user networking and hands PID 1 to linuxd.
/bin/busybox mkdir -p /bin /dev /proc /sys /tmp
/bin/busybox --install -s /bin
mount -t devtmpfs devtmpfs /dev
# The initramfs carries no device nodes, so the kernel could not open a
# console for us: take it from devtmpfs.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys

# Modules in dependency order, as resolved at build time. insmod, unlike
# modprobe, does not take a module's parameters from the kernel command
# line (NAME.PARAM=VALUE, e.g. the virtio_mmio.device= QEMU's microvm
# appends): pass them on, looking only when the command line names the
# module, so other boots spend nothing on it.
read -r cmdline </proc/cmdline
while read -r m; do
	name=${m%.ko} params=""
	case " $cmdline " in
	*" $name."*) params=$(echo "$cmdline" | tr ' ' '\n' | sed -n "s/^$name\.//p") ;;
	esac
	# shellcheck disable=SC2086 # one argument per parameter
	insmod "/lib/modules/$m" $params || echo "init: insmod $m failed"
done </lib/modules/load.list

ip link set lo up
# bench.mtu=N on the kernel command line: jumbo frames (make bench's MTU
# 9000 run), as the unikernel's mtu=N.
mtu=$(sed -n 's/.*bench\.mtu=\([0-9]*\).*/\1/p' /proc/cmdline)
if [ -n "$mtu" ]; then
	ip link set eth0 mtu "$mtu" || echo "init: mtu $mtu refused"
fi
ip link set eth0 up || { echo "init: no eth0"; poweroff -f; }
# QEMU user networking: fixed guest address, no DHCP round trips.
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
# bench.ip6=ADDR/PREFIX on the kernel command line (make bench IPV6=1) adds
# a static IPv6 address, without DAD so it is usable at once.
ip6=$(sed -n 's/.*bench\.ip6=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$ip6" ]; then
	ip -6 addr add "$ip6" dev eth0 nodad 2>/dev/null || ip -6 addr add "$ip6" dev eth0 ||
		echo "init: cannot add $ip6"
fi
echo "init: eth0 10.0.2.15/24 via 10.0.2.2${ip6:+, $ip6}, mtu $(cat /sys/class/net/eth0/mtu), starting linuxd"
# linuxd prints the READY line once its listeners are bound. If it ever
# exits, the kernel panics on PID 1 exiting, which -no-reboot (with panic=-1
# on the command line) turns into a QEMU exit.
exec /linuxd
