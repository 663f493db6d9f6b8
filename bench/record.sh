#!/bin/bash
# Files a run's summary as a dated result note (bench/notes/README.md).
#
#   bench/record.sh RESULTDIR NAME        (make record RUN=RESULTDIR NAME=NAME)
#
# Copies RESULTDIR/summary/ (written by bench/summary.sh: make bench does)
# to bench/notes/<UTC date>-NAME/ and writes NOTE.md there: the command,
# commit, machine and load, and every text table of the summary quoted
# verbatim, with a Reading section left for a human to write. NAME is
# lower case letters, digits and dashes; an existing note is never
# overwritten.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
[ $# = 2 ] || { echo "usage: $0 RESULTDIR NAME" >&2; exit 2; }
run=${1%/} name=$2
sum=$run/summary
[ -f "$sum/command.txt" ] || { echo "record: no $sum/command.txt: not a run that wrote a summary" >&2; exit 1; }
[[ $name =~ ^[a-z0-9][a-z0-9-]*$ ]] || { echo "record: NAME $name: want lower case letters, digits and dashes" >&2; exit 2; }
note=$repo/bench/notes/$(date -u +%F)-$name
[ ! -e "$note" ] || { echo "record: $note exists" >&2; exit 1; }
mkdir -p "$note"
cp -r "$sum/." "$note/"

# quote FILE: FILE, a path in the note, as a fenced block under its name.
quote() {
	# shellcheck disable=SC2016 # Markdown's backquotes, not a command
	printf '`%s`:\n\n```\n' "$1"
	cat "$note/$1"
	printf '```\n\n'
}

# The tables: each part's (in subdirectories) before the top-level ones.
tables=()
while IFS= read -r f; do tables+=("${f#./}"); done < <(
	cd "$note"
	find . -mindepth 2 -name '*.txt' | sort
	find . -maxdepth 1 -name '*.txt' ! -name command.txt ! -name commit.txt ! -name machine.txt ! -name settings.txt | sort
)

{
	cat <<HEAD
# $name

Recorded $(date -u +%F) by \`bench/record.sh\` from the run
\`$(basename "$run")\`. Every other file in this directory is a verbatim
copy of that run's \`summary/\`; every number in this note must be in one
of them.

## What was run

HEAD
	quote command.txt
	[ ! -f "$note/settings.txt" ] || quote settings.txt
	quote commit.txt
	printf 'Machine, and its load before and after the run:\n\n'
	quote machine.txt
	printf '## Tables\n\n'
	for f in "${tables[@]}"; do quote "$f"; done
	cat <<'TAIL'
## Reading

TODO: what the run shows, quoting only figures from the tables above; what
was different about it (load, network, a change under test); what to run
to check it.
TAIL
} >"$note/NOTE.md"
echo "record: $note (write its Reading in NOTE.md)"
