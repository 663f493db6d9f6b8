#!/usr/bin/env bash
# Prints "kvm" if KVM can really run the given 64-bit image, else "tcg".
# /dev/kvm existing is not enough: on some hosts 64-bit guests hang under
# KVM, so the probe boots the image with a short timeout and waits for it to
# leave through isa-debug-exit or print to the console.
set -uo pipefail
qemu=$1 image=$2 machine=${3:-pc}
if [ ! -w /dev/kvm ]; then echo tcg; exit 0; fi
out=$(timeout 10 "$qemu" -M "$machine" -accel kvm -cpu host -m 1G -smp 1 -nographic -no-reboot \
	-serial stdio -monitor none -kernel "$image" -device isa-debug-exit,iobase=0xf4,iosize=4 \
	-net none 2>/dev/null </dev/null | head -c 4096)
if [ -n "$out" ]; then echo kvm; else echo tcg; fi
