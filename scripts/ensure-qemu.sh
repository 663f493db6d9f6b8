#!/usr/bin/env bash
# Prints the path of qemu-system-x86_64, installing Debian's qemu-system-x86
# without its recommendations when it is missing: 30 packages on a fresh
# Debian 12 instead of 169 (GUI, audio, speech recognition, OVMF, qemu-utils,
# none of which tamanet uses; SeaBIOS, qboot and the iPXE ROMs are
# dependencies and still come).
exec "$(dirname "$0")/ensure-tool.sh" qemu-system-x86_64 qemu-system-x86
