#!/bin/bash
# Interleaved benchmark of the tamanet unikernel against the Linux baseline
# (or of the unikernel's variants against each other): "tamabench
# interleave", which boots each guest in turn every round and measures it.
#
#   bench/interleave.sh [-u UNIKERNEL_IMAGE] [-n VARIANTS] [-r ROUNDS] [-o OUTDIR]
#                       [-a tcg|kvm|auto] [-f seabios|qboot] [-N user|tap|auto] [-I IDLE] [-6]
#                       [-U MTU] [-S] [-- tamabench run flags]
#
# The flags are tamabench interleave's ("bench/tamabench.sh interleave -h",
# bench/README.md: The interleaved comparison).
exec "$(dirname "$0")/tamabench.sh" interleave "$@"
