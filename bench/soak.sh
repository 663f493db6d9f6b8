#!/bin/bash
# make soak: a long run of the unikernel under mixed load, with link flaps:
# "tamabench soak -image", plus the run's summary/ (bench/summary.sh).
#
#   bench/soak.sh IMAGE
#
# Boots IMAGE (accelerator ACCEL, default auto, decided as qemu.sh's -a says;
# network NET: user (default), tap or auto; NIC: e1000 (default) or virtio,
# as qemu.sh -n takes it) with a QMP socket, waits for
# READY, then soaks it for SOAK (default 10m): keep-alive and new-connection
# GETs, downloads and uploads checked by SHA-256, TCP and UDP echo, 500 idle
# connections, a set_link flap every 30 s, and a /stats sample (after a
# forced GC) every 10 s. Results go to bench/results/soak-<UTC time>/:
# soak.json, soak.txt, soak-heap.png, soak-goroutines.png, console.log
# and summary/ (bench/README.md: make soak). The exit status is
# tamabench's: 0 if the run passed every check, 1 if it failed one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/summary.sh
. "$here/summary.sh"
[ $# = 1 ] && [ -f "$1" ] || { echo "usage: $0 UNIKERNEL_IMAGE" >&2; exit 2; }
duration=${SOAK:-10m} net=${NET:-user} accel=${ACCEL:-auto} nic=${NIC:-e1000}
out=$here/results/soak-$(date -u +%Y%m%dT%H%M%SZ)
summary_begin "$out" SOAK="$duration" NET="$net" ACCEL="$accel" NIC="$nic" -- "$0" "$@"
status=0
"$here/tamabench.sh" soak -image "$1" -net "$net" -nic "$nic" -accel "$accel" -duration "$duration" -out "$out" || status=$?
summary_end "$out" soak.txt soak.json
exit $status
