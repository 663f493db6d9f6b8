#!/bin/bash
# Builds the Linux baseline guest once and caches it outside the repository:
# Debian's linux-image-amd64 kernel and the modules of its NIC driver,
# busybox-static, and cmd/linuxd (the same Go handlers as the unikernel) in
# an initramfs.
#
#   bench/linux/build.sh [--force] [--nic e1000|virtio]
#
# --nic (default e1000) picks the driver the image loads, as qemu.sh's -n
# picks the device: e1000, or virtio_net with the virtio PCI and MMIO
# transports (pc, q35 and microvm). Each NIC is an image of its own, so
# neither guest loads the other's modules.
# Prints the cache directory on stdout; it holds vmlinuz, initramfs.cpio.gz
# and manifest.txt. Progress goes to stderr. The directory name is a hash of
# every input (package versions, the NIC, this script, init.sh, the linuxd
# binary), so a changed input builds a new image and an unchanged one is
# reused.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
force=0 nic=e1000
while [ $# -gt 0 ]; do
	case $1 in
	--force) force=1 ;;
	--nic) nic=${2:-}; shift ;;
	*) echo "usage: $0 [--force] [--nic e1000|virtio]" >&2; exit 2 ;;
	esac
	shift
done
# The modules each NIC needs besides what their depends= pull in: the
# virtio transports are not dependencies of virtio_net (it binds to
# whichever transport found the device).
case $nic in
e1000) nic_modules=(e1000) ;;
virtio) nic_modules=(virtio_pci virtio_mmio virtio_net) ;;
*) echo "build.sh: --nic $nic: want e1000 or virtio" >&2; exit 2 ;;
esac

log() { echo "linux-baseline: $*" >&2; }

# The meta package names the versioned kernel package it depends on.
kernel_pkg() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1; }
candidate() { apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p'; }

kpkg=$(kernel_pkg)
if [ -z "$kpkg" ] || [ "$(candidate busybox-static)" = "" ] || [ "$(candidate busybox-static)" = "(none)" ]; then
	log "apt lists lack linux-image-amd64 or busybox-static: apt-get update"
	apt-get update -qq -o DPkg::Lock::Timeout=300 >&2
	kpkg=$(kernel_pkg)
fi
[ -n "$kpkg" ] || { log "cannot resolve linux-image-amd64"; exit 1; }
kver=$(candidate "$kpkg")
bver=$(candidate busybox-static)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# linuxd is part of the key: rebuild it (cheap when cached by go) and hash it.
log "building cmd/linuxd"
(cd "$repo" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -buildvcs=false \
	-ldflags='-s -w' -o "$tmp/linuxd" ./cmd/linuxd)
linuxd_sum=$(sha256sum "$tmp/linuxd" | cut -d' ' -f1)

key=$( { echo "$kpkg $kver"; echo "busybox-static $bver"; echo "$linuxd_sum"; echo "nic $nic";
	cat "$here/build.sh" "$here/init.sh"; } | sha256sum | cut -c1-16)
out=${XDG_CACHE_HOME:-$HOME/.cache}/tamanet/linux-$key
if [ $force = 0 ] && [ -s "$out/vmlinuz" ] && [ -s "$out/initramfs.cpio.gz" ]; then
	log "cached: $out"
	echo "$out"
	exit 0
fi

log "downloading $kpkg $kver and busybox-static $bver"
(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$kpkg=$kver" "busybox-static=$bver" >&2)
dpkg-deb -x "$tmp"/linux-image-*.deb "$tmp/kernel"
dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/busybox"

kdir=$(echo "$tmp"/kernel/lib/modules/*)
[ -d "$kdir" ] || { log "no modules directory in $kpkg"; exit 1; }

# module_file NAME: path of module NAME (modules treat - and _ alike).
module_file() {
	local n=${1//-/_} f
	while read -r f; do
		local b=${f##*/}
		b=${b%%.ko*}
		[ "${b//-/_}" = "$n" ] && { echo "$f"; return 0; }
	done < <(find "$kdir/kernel" -name '*.ko*')
	return 1
}

# The .modinfo section of a module holds "depends=a,b"; modules.dep is not
# shipped in the package (depmod makes it on install).
module_deps() {
	case $1 in
	*.ko) cat "$1" ;;
	*.ko.xz) xz -dc "$1" ;;
	*.ko.zst) zstd -qdc "$1" ;;
	*) log "unknown module format: $1"; exit 1 ;;
	esac | grep -a -o 'depends=[A-Za-z0-9_,-]*' | head -n1 | cut -d= -f2 | tr ',' ' '
}

root=$tmp/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules}
: >"$root/lib/modules/load.list"
declare -A loaded=()
# add_module NAME: copy NAME and, first, its dependencies, uncompressed.
add_module() {
	local name=$1 f dep
	[ -n "${loaded[$name]:-}" ] && return 0
	loaded[$name]=1
	f=$(module_file "$name") || { log "module $name not found in $kpkg"; exit 1; }
	for dep in $(module_deps "$f"); do add_module "$dep"; done
	case $f in
	*.ko) cp "$f" "$root/lib/modules/$name.ko" ;;
	*.ko.xz) xz -dc "$f" >"$root/lib/modules/$name.ko" ;;
	*.ko.zst) zstd -qdc "$f" >"$root/lib/modules/$name.ko" ;;
	esac
	echo "$name.ko" >>"$root/lib/modules/load.list"
}
for m in "${nic_modules[@]}"; do add_module "$m"; done
log "modules: $(tr '\n' ' ' <"$root/lib/modules/load.list")"

cp "$tmp/busybox/bin/busybox" "$root/bin/busybox"
install -m 0755 "$here/init.sh" "$root/init"
install -m 0755 "$tmp/linuxd" "$root/linuxd"

# A reproducible archive: sorted names, fixed times and owners, gzip -n.
mkdir -p "$out.tmp"
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | sort | "$tmp/busybox/bin/busybox" cpio -o -H newc -R 0:0 2>/dev/null) |
	gzip -9 -n >"$out.tmp/initramfs.cpio.gz"
cp "$tmp"/kernel/boot/vmlinuz-* "$out.tmp/vmlinuz"
{
	echo "kernel $kpkg $kver"
	echo "busybox-static $bver"
	echo "linuxd sha256 $linuxd_sum"
	echo "nic $nic"
	echo "modules $(tr '\n' ' ' <"$root/lib/modules/load.list")"
	echo "go $(go version)"
} >"$out.tmp/manifest.txt"
rm -rf "$out"
mv "$out.tmp" "$out"
log "built $out ($(du -sh "$out" | cut -f1))"
echo "$out"
