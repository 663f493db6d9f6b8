#!/usr/bin/env bash
# Prints the path of each COMMAND, first installing, in one apt-get run, the
# Debian PACKAGEs that hold the missing ones. Only what the packages depend
# on comes with them (--no-install-recommends): tests need the tools, not
# their desktops.
#
#   scripts/ensure-tool.sh COMMAND PACKAGE [COMMAND PACKAGE ...]
set -euo pipefail
[ $# -ge 2 ] && [ $(($# % 2)) = 0 ] || { echo "usage: $0 COMMAND PACKAGE [COMMAND PACKAGE ...]" >&2; exit 2; }
cmds=() missing=()
while [ $# -gt 0 ]; do
	cmds+=("$1")
	command -v "$1" >/dev/null || missing+=("$2")
	shift 2
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "ensure-tool: installing ${missing[*]} with apt-get --no-install-recommends" >&2
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	if ! command -v apt-get >/dev/null; then
		echo "ensure-tool: no apt-get here: install the Debian packages ${missing[*]} (or their equivalents) yourself" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Wait for another apt/dpkg run rather than fail.
	$sudo apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 &&
		$sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >&2 || {
		echo "ensure-tool: apt-get install ${missing[*]} failed" >&2
		exit 1
	}
fi
for c in "${cmds[@]}"; do
	command -v "$c" >/dev/null || { echo "ensure-tool: $c is still missing after installing its package" >&2; exit 1; }
	command -v "$c"
done
