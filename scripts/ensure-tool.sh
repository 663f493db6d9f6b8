#!/usr/bin/env bash
# Prints the path of COMMAND, installing the Debian PACKAGE that holds it
# when it is missing. Only what the package depends on comes with it
# (--no-install-recommends): tests need the tool, not its desktop.
#
#   scripts/ensure-tool.sh COMMAND PACKAGE
set -euo pipefail
[ $# = 2 ] || { echo "usage: $0 COMMAND PACKAGE" >&2; exit 2; }
cmd=$1 pkg=$2
if ! command -v "$cmd" >/dev/null; then
	echo "ensure-tool: $cmd not found, installing $pkg with apt-get --no-install-recommends" >&2
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	if ! command -v apt-get >/dev/null; then
		echo "ensure-tool: no apt-get here: install $cmd (Debian package $pkg) yourself" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Wait for another apt/dpkg run (e.g. a parallel job) rather than fail.
	$sudo apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 &&
		$sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$pkg" >&2 || {
		echo "ensure-tool: apt-get install $pkg failed" >&2
		exit 1
	}
	command -v "$cmd" >/dev/null || { echo "ensure-tool: $pkg installed but $cmd is still missing" >&2; exit 1; }
fi
command -v "$cmd"
