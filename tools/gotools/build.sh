#!/usr/bin/env bash
# Build Go programs pinned by one of the modules beside this script (go.mod + go.sum: the
# versions and their checksums) and print the folder that holds them.
#
#   tools/gotools/build.sh <module dir> [-ldflags '...'] <package>...
#
# The binaries are kept in ${LLMFLEET_GOTOOLS_CACHE:-~/.cache/llmfleet-gotools}/<key>/, where
# <key> is a hash of go.mod, go.sum, the Go version and the flags: a second run (another clone
# on the same machine included) finds them there and builds nothing. Go's own module and build
# caches make a rebuild after a change fast too. Only the Go module proxy is needed: go.sum is
# checked (-mod=readonly), and GOTOOLCHAIN=local keeps the machine's Go.
set -euo pipefail
module=${1:?usage: build.sh <module dir> [-ldflags FLAGS] <package>...}
shift
ldflags="-s -w"
if [ "${1:-}" = -ldflags ]; then ldflags="$ldflags $2"; shift 2; fi
(($#)) || { echo "build.sh: name at least one package" >&2; exit 2; }
command -v go >/dev/null 2>&1 || {
  echo "build.sh: go is not installed (Debian: apt-get install golang-go)" >&2; exit 2; }
# The modules need Go >= 1.26 (their go lines). An older local Go fetches that toolchain as a
# module from the Go module proxy (golang.org/toolchain, checksummed like any module).
minimum=1.26.8
local_version=$(GOTOOLCHAIN=local go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$minimum" "$local_version" | sort -V | head -1)" = "$minimum" ]; then
  export GOTOOLCHAIN=local
else
  echo "build.sh: Go $local_version is older than $minimum: using go$minimum from the Go module proxy" >&2
  export GOTOOLCHAIN=go$minimum
fi
export GOFLAGS=-mod=readonly
cache=${LLMFLEET_GOTOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmfleet-gotools}
key=$({ cat "$module/go.mod" "$module/go.sum"; go version; echo "$ldflags $*"; } | sha256sum | cut -c1-16)
out="$cache/$(basename "$module")-$key"
# go build names a program after the last element of its package path, less a major-version
# suffix (sigs.k8s.io/kustomize/kustomize/v5 -> kustomize, go.etcd.io/etcd/server/v3 -> server).
program() { local name; name=$(basename "$1"); [[ $name =~ ^v[0-9]+$ ]] && name=$(basename "$(dirname "$1")"); echo "$name"; }
have_all=1
for pkg in "$@"; do [ -x "$out/$(program "$pkg")" ] || have_all=0; done
if ((have_all)); then echo "$out"; exit 0; fi
tmp=$(mktemp -d "$cache.tmp.XXXXXX" 2>/dev/null || { mkdir -p "$cache" && mktemp -d "$cache.tmp.XXXXXX"; })
trap 'rm -rf "$tmp"' EXIT
echo "build.sh: go build $* (pinned in $module/go.mod; a first build takes minutes)" >&2
start=$SECONDS
(cd "$module" && go build -trimpath -ldflags "$ldflags" -o "$tmp/" "$@") >&2
echo "build.sh: built in $((SECONDS - start)) s -> $out" >&2
mkdir -p "$cache"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "$out"
