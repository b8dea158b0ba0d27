#!/usr/bin/env bash
# Builds the kubelet of k8s.io/kubernetes at VERSION from the Go module proxy
# and caches the binary; prints its path. A cached binary is reused.
#
#   test/node/build-kubelet.sh [VERSION]      (default: the version pinned in
#                                             test/node/kubelet/go.mod)
#
# k8s.io/kubernetes lists its staging modules (k8s.io/api, client-go, ...) as
# v0.0.0 with `replace => ./staging/...`, which a module download cannot use;
# the build module points each of them at its published v0.X.Y instead. The
# pinned version's module (go.mod + go.sum) is committed in test/node/kubelet;
# any other version gets a module generated from the proxy's go.mod.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
pinned=$(awk '$1=="k8s.io/kubernetes"{print $2; exit}' "$here/kubelet/go.mod")
version=${1:-${KUBELET_VERSION:-$pinned}}
cache=${DOCKERLET_NODE_CACHE:-/var/cache/dockerlet-node}
bin="$cache/kubelet-$version"

if [[ -x "$bin" ]] && "$bin" --version >/dev/null 2>&1; then
	echo "$bin"
	exit 0
fi
mkdir -p "$cache"
# One build per version at a time: a second caller (CI prebuilds in the
# background) waits, then finds it.
exec 9>"$cache/.lock-$version"
flock 9
if [[ -x "$bin" ]] && "$bin" --version >/dev/null 2>&1; then
	echo "$bin"
	exit 0
fi

if [[ "$version" == "$pinned" ]]; then
	moddir="$here/kubelet"
else
	# Staging modules are published as v0.<minor>.<patch> for v1.<minor>.<patch>.
	staging="v0.${version#v1.}"
	moddir=$(mktemp -d /tmp/dlnode-kubelet-mod.XXXXXX)
	trap 'rm -rf "$moddir"' EXIT
	# The go command fetches the release's go.mod through whatever module
	# proxy `go env GOPROXY` names (only the .mod file, not the sources).
	gomod=$(cd "$moddir" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$version" |
		sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
	[[ -n $gomod && -f $gomod ]] || { echo "build-kubelet: no go.mod for k8s.io/kubernetes@$version" >&2; exit 1; }
	upstream=$(cat "$gomod")
	goline=$(awk '$1=="go"{print; exit}' <<<"$upstream")
	{
		echo "module dockerlet.test/node/kubelet"
		echo
		echo "$goline"
		echo
		echo "tool k8s.io/kubernetes/cmd/kubelet"
		echo
		echo "require k8s.io/kubernetes $version"
		echo
		echo "replace ("
		awk '/=> \.\/staging\//{print "\t" $1 " => " $1 " '"$staging"'"}' <<<"$upstream"
		echo ")"
	} >"$moddir/go.mod"
	(cd "$moddir" && go mod tidy >&2)
fi

major=${version#v}; major=${major%%.*}
minor=${version#v*.}; minor=${minor%%.*}
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
start=$(date +%s)
# Upstream builds the kubelet static (CGO_ENABLED=0) as well.
(cd "$moddir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin.tmp" k8s.io/kubernetes/cmd/kubelet)
mv "$bin.tmp" "$bin"
echo "built kubelet $version in $(( $(date +%s) - start ))s" >&2
echo "$bin"
