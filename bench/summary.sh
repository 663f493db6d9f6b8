# shellcheck shell=bash
# Sourced by the bench scripts: the summary of a run, DIR/summary/, which
# bench/record.sh files under bench/notes/ (see bench/notes/README.md).
#
#   summary_begin DIR KNOB=VALUE... -- COMMAND [ARG...]
#       command.txt: the start time, COMMAND as run and every knob with the
#       value the run used (and whether it came from the environment or was
#       the default); commit.txt; machine.txt with the uptime (the load)
#       before the run.
#   summary_end DIR FILE...
#       the uptime after, appended to machine.txt, and a copy of each FILE
#       (relative to DIR; AS=PATH copies PATH to AS instead). A FILE that
#       does not exist is left out (the part that writes it did not run);
#       one above SUMMARY_MAX_BYTES is refused: a summary holds small text
#       tables and JSON, not logs, plots or profiles.
SUMMARY_MAX_BYTES=102400

summary_begin() {
	local dir=$1 kv name
	shift
	local knobs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		knobs+=("$1")
		shift
	done
	[ "${1:-}" = -- ] || { echo "summary_begin: want DIR KNOB=VALUE... -- COMMAND" >&2; return 2; }
	shift
	local sum=$dir/summary
	mkdir -p "$sum"
	{
		echo "started: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "cwd: $(pwd)"
		echo "command: $(summary_quote "$@")"
		echo "knobs:"
		for kv in "${knobs[@]}"; do
			name=${kv%%=*}
			if [ -n "${!name+set}" ]; then
				echo "  $kv (from the environment)"
			else
				echo "  $kv (default)"
			fi
		done
		echo "again: $(summary_quote env "${knobs[@]}" "$@")"
	} >"$sum/command.txt"
	summary_commit >"$sum/commit.txt"
	{
		echo "uname: $(uname -srm)"
		echo "cpu: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1) x $(nproc)"
		if command -v qemu-system-x86_64 >/dev/null; then
			echo "qemu: $(qemu-system-x86_64 --version | head -n1)"
		else
			echo "qemu: qemu-system-x86_64 not installed"
		fi
		echo "uptime before: $(uptime)"
	} >"$sum/machine.txt"
}

summary_end() {
	local dir=$1 f src dst size
	shift
	local sum=$dir/summary
	echo "uptime after: $(uptime)" >>"$sum/machine.txt"
	for f in "$@"; do
		src=${f#*=} dst=$f
		case $f in *=*) dst=${f%%=*} ;; esac
		case $src in /*) ;; *) src=$dir/$src ;; esac
		[ -f "$src" ] || continue
		size=$(stat -c %s "$src")
		if [ "$size" -gt "$SUMMARY_MAX_BYTES" ]; then
			echo "summary: $src is $size bytes, above the $SUMMARY_MAX_BYTES a summary file may have; not copied" >&2
			continue
		fi
		mkdir -p "$(dirname "$sum/$dst")"
		cp "$src" "$sum/$dst"
	done
}

# summary_commit: the checkout the scripts ran from, and whether its tree
# differed from that commit (then the run measured uncommitted code).
summary_commit() {
	local repo
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	if ! git -C "$repo" rev-parse HEAD >/dev/null 2>&1; then
		echo "not a git checkout"
		return
	fi
	echo "commit: $(git -C "$repo" rev-parse HEAD)"
	echo "subject: $(git -C "$repo" log -1 --format=%s | cut -c1-120)"
	if [ -z "$(git -C "$repo" status --porcelain)" ]; then
		echo "tree: clean"
	else
		echo "tree: dirty (git status --porcelain):"
		git -C "$repo" status --porcelain | sed 's/^/  /'
	fi
}

# summary_quote WORD...: the words as one shell command line.
summary_quote() {
	local out="" w
	for w in "$@"; do
		case $w in
		'' | *[!A-Za-z0-9_./=:,+@%-]*) w=$(printf %q "$w") ;;
		esac
		out+="${out:+ }$w"
	done
	echo "$out"
}
