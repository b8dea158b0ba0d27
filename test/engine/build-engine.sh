#!/usr/bin/env bash
# Builds the current Docker Engine from the Go module proxy and caches it;
# prints the directory that holds the binaries. A cached build is reused.
#
#   test/engine/build-engine.sh
#
# What it builds (versions pinned in build modules, go.mod + go.sum):
#   dockerd, docker-proxy           github.com/moby/moby/v2       test/engine/daemon
#   containerd,
#   containerd-shim-runc-v2         github.com/containerd/containerd/v2, at
#                                   the version moby's own go.mod requires
#   runc                            github.com/opencontainers/runc test/engine/runc
# Debian 12's runc (1.1.5) is not enough: it does not know the time
# namespace that Docker 29's containers list ("namespace time does not
# exist"). runc is built with cgo (its nsenter is C) and seccomp
# (libseccomp-dev, pkg-config: scripts/deps.sh installs them).
#
# One `go build` for the four moby/containerd programs, so the packages
# they share compile once; static (no cgo), -trimpath, stripped, with
# moby's own release tags. GOCACHE and GOMODCACHE are the go command's
# (shared with every other build on the machine); DOCKERLET_ENGINE_CACHE
# moves the output.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
moddir="$here/daemon"
runcdir="$here/runc"
# modver MODULE GOMOD: the version a go.mod requires (block or one line).
modver() { awk -v m="$1" '{for (i = 1; i < NF; i++) if ($i == m) {print $(i + 1); exit}}' "$2"; }
mobyver=$(modver github.com/moby/moby/v2 "$moddir/go.mod")
ctrdver=$(modver github.com/containerd/containerd/v2 "$moddir/go.mod")
runcver=$(modver github.com/opencontainers/runc "$runcdir/go.mod")
cache=${DOCKERLET_ENGINE_CACHE:-/var/cache/dockerlet-engine}
out="$cache/$mobyver-runc$runcver"
bins=(dockerd docker-proxy containerd containerd-shim-runc-v2 runc)

built() {
	local b
	for b in "${bins[@]}"; do
		[[ -x "$out/$b" ]] || return 1
	done
	"$out/dockerd" --version >/dev/null 2>&1
}

if built; then
	echo "$out"
	exit 0
fi
mkdir -p "$cache"
# One build at a time per machine: a second caller waits, then finds it.
exec 9>"$cache/.lock"
flock 9
if built; then
	echo "$out"
	exit 0
fi

# The Docker release this snapshot of moby follows (its releases file);
# `go mod download` fetches the module first on a fresh machine.
mobydir=$(cd "$moddir" && go mod download -json github.com/moby/moby/v2 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
docker=$(awk '$1=="last:"{gsub(/"/, "", $2); print $2; exit}' "$mobydir/releases/versions.yaml" 2>/dev/null || true)
docker=${docker:-$mobyver}

ldflags="-s -w"
ldflags+=" -X github.com/moby/moby/v2/dockerversion.Version=$docker"
ldflags+=" -X github.com/moby/moby/v2/dockerversion.GitCommit=moby-$mobyver"
ldflags+=" -X github.com/moby/moby/v2/dockerversion.PlatformName=dockerlet-test-engine"
ldflags+=" -X github.com/containerd/containerd/v2/version.Version=$ctrdver"
ldflags+=" -X github.com/containerd/containerd/v2/version.Package=github.com/containerd/containerd/v2"
# moby's release tags (hack/make.sh) without cgo; nri_no_wasm leaves out a
# WebAssembly runtime no test uses.
tags="netgo osusergo static_build nri_no_wasm no_btrfs"

tmp=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
(cd "$moddir" && CGO_ENABLED=0 go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$tmp/" \
	github.com/moby/moby/v2/cmd/dockerd \
	github.com/moby/moby/v2/cmd/docker-proxy \
	github.com/containerd/containerd/v2/cmd/containerd \
	github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2)
# runc's own release tags less libpathrs (a Rust library Debian does not
# ship; runc falls back to its Go implementation).
(cd "$runcdir" && CGO_ENABLED=1 go build -trimpath -tags "seccomp urfave_cli_no_docs" \
	-ldflags "-s -w -X main.gitCommit=$runcver" -o "$tmp/runc" github.com/opencontainers/runc)
chmod 755 "$tmp"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "built Docker $docker (moby $mobyver, containerd $ctrdver, runc $runcver) in $(($(date +%s) - start))s" >&2
echo "$out"
