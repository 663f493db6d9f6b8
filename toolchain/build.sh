#!/usr/bin/env bash
# Builds tamanet's GOOS=tamago Go toolchain: the pinned Go source with the
# patch series in toolchain/patches applied, compiled with make.bash.
# The result is cached outside the repository under a hash of the patches
# and this script, so a second run takes seconds. The last line printed is
# the path of the built go command. Concurrent runs build once: the others
# wait on a lock in the cache and then use the result.
set -euo pipefail

GO_VERSION=go1.27.3
SOURCE_MODULE=golang.org/toolchain@v0.0.1-${GO_VERSION}.linux-amd64
export GOTOOLCHAIN=${GO_VERSION}

here=$(cd "$(dirname "$0")" && pwd)
cache_root=${TAMANET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tamanet}

die() { echo "toolchain: $*" >&2; exit 1; }

command -v go >/dev/null || die "no go command on PATH: install Go (any release >= 1.21 can fetch ${GO_VERSION} through GOTOOLCHAIN)"
command -v git >/dev/null || die "git is needed to apply the patch series: apt-get install git"

shopt -s nullglob
patches=("$here"/patches/*.patch)
[ ${#patches[@]} -gt 0 ] || die "no patches in $here/patches"

key=$( (cat "$here/build.sh"; cat "${patches[@]}") | sha256sum | cut -c1-16)
dest="$cache_root/toolchain-$GO_VERSION-$key"
# build.sh --dest prints where this patch series' toolchain is (or will be).
if [ "${1:-}" = --dest ]; then
	echo "$dest"
	exit 0
fi
if [ -x "$dest/bin/go" ]; then
	echo "$dest/bin/go"
	exit 0
fi

# One build per cache: go test ./... on a cold cache starts several test
# processes that each want the toolchain; the first builds it, the others
# wait here and then find it.
mkdir -p "$cache_root"
command -v flock >/dev/null || die "flock (util-linux) is needed to serialise toolchain builds"
exec 9>"$cache_root/toolchain.lock"
if ! flock -n 9; then
	echo "toolchain: another build of the toolchain is running, waiting for it" >&2
	flock 9
fi
if [ -x "$dest/bin/go" ]; then
	echo "$dest/bin/go"
	exit 0
fi

echo "toolchain: fetching the ${GO_VERSION} source ($SOURCE_MODULE)" >&2
src=$(cd "$here" && go mod download -json "$SOURCE_MODULE" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -n "$src" ] && [ -f "$src/VERSION" ] || die "could not download $SOURCE_MODULE from the module proxy (GOPROXY=$(go env GOPROXY))"
have=$(head -n1 "$src/VERSION")
[ "$have" = "$GO_VERSION" ] || die "Go source at $src is $have, the patches are for $GO_VERSION: set GO_VERSION in toolchain/build.sh and refresh the patches"

work=$(mktemp -d "$cache_root/.build-XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$src/." "$work/go"
chmod -R u+w "$work/go"   # the module cache is read-only
rm -rf "$work/go/pkg/tool" "$work/go/bin"   # rebuilt below

for p in "${patches[@]}"; do
	if ! git -C "$work/go" apply --whitespace=nowarn "$p" 2>"$work/apply.err"; then
		cat "$work/apply.err" >&2
		die "patch $(basename "$p") no longer applies to the $GO_VERSION source: rebase it (see toolchain/README.md)"
	fi
done

# The pinned release bootstraps its own port: GOTOOLCHAIN has it in the
# module cache already.
bootstrap=$(go env GOROOT)
echo "toolchain: building GOOS=tamago Go with make.bash (bootstrap $bootstrap), 4-8 minutes on 2 cores" >&2
start=$(date +%s)
# make.bash names each of its phases on a "Building ..." line; those go to
# the terminal with the time so far, everything goes to make.log.
progress() {
	local line
	while IFS= read -r line; do
		printf '%s\n' "$line" >>"$work/make.log"
		case $line in
		Building*) printf 'toolchain: %4ds  %s\n' $(( $(date +%s) - start )) "$line" >&2 ;;
		esac
	done
}
if ! (cd "$work/go/src" && GOROOT_BOOTSTRAP="$bootstrap" GOTOOLCHAIN=local bash make.bash 2>&1) | progress; then
	tail -n 40 "$work/make.log" >&2
	die "make.bash failed (log above)"
fi
echo "toolchain: built in $(( $(date +%s) - start ))s" >&2

rm -rf "$dest"
mv "$work/go" "$dest"
echo "$dest/bin/go"
