#!/usr/bin/env bash
# Prints the path of qemu-system-x86_64, installing Debian's qemu-system-x86
# when it is missing.
set -euo pipefail
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "qemu: qemu-system-x86_64 not found, installing qemu-system-x86 with apt-get" >&2
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	if ! command -v apt-get >/dev/null; then
		echo "qemu: no apt-get here: install QEMU (qemu-system-x86_64) yourself" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Wait for another apt/dpkg run (e.g. a parallel job) rather than fail.
	$sudo apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 &&
		$sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq qemu-system-x86 >&2 || {
		echo "qemu: apt-get install qemu-system-x86 failed" >&2
		exit 1
	}
fi
command -v qemu-system-x86_64
