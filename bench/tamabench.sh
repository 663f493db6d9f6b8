#!/bin/bash
# Builds cmd/tamabench into out/tamabench and runs it with the arguments:
# how the bench scripts run it, from any directory (TAMANET_ROOT tells it
# the checkout, whose qemu.sh boots the guests).
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
repo=$(cd "$(dirname "$0")/.." && pwd)
(cd "$repo" && mkdir -p out && go build -o out/tamabench ./cmd/tamabench)
export TAMANET_ROOT=$repo
exec "$repo/out/tamabench" "$@"
