#!/bin/bash
# Profiles the unikernel under one tamabench load, over tap: "tamabench
# profile", plus the run's summary/ (bench/summary.sh).
#
#   bench/profile.sh [-k BOOTOPTS] [-s SECONDS] [-P] IMAGE TEST
#
# Boots IMAGE in its own network namespace with boot options BOOTOPTS plus
# admin=8081, runs "tamabench run -tests TEST" against it for SECONDS
# (default 20, at least 14) and over the middle 10 s takes the guest's CPU
# profile (-P skips it) and the host CPU of QEMU's threads. Writes
# bench/results/profile-<time>-TEST/: bench.txt, cpu.pprof, threads.txt,
# stats.json, console.log and summary/ (bench/README.md: bench/profile.sh).
# Read the profile with "go tool pprof -top cpu.pprof".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/summary.sh
. "$here/summary.sh"
[ $# -ge 2 ] || exec "$here/tamabench.sh" profile "$@"
out=$here/results/profile-$(date -u +%Y%m%dT%H%M%SZ)-${!#}
summary_begin "$out" -- "$0" "$@"
status=0
"$here/tamabench.sh" profile -o "$out" "$@" || status=$?
summary_end "$out" bench.txt threads.txt stats.json
exit $status
