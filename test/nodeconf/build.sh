#!/usr/bin/env bash
# Builds Kubernetes' node e2e suite (e2e_node.test), the ginkgo runner that
# runs it in parallel, and the programs of its test images (agnhost,
# nonewprivs' nnp, pause) from k8s.io/kubernetes at the version pinned in
# test/nodeconf/suite/go.mod, through the Go module proxy, and caches them
# with imagelist (the image references the suite asks for); prints the
# cache directory. Cached binaries are reused.
#
#   test/nodeconf/build.sh
#
# Like test/node/build-kubelet.sh: the build module points the staging
# modules (k8s.io/api, client-go, ...) at their published v0.X.Y, and the
# same GOCACHE and flags (CGO_ENABLED=0, -trimpath) as the kubelet build, so
# the packages the two share compile once.
#
# go.sum holds the sums of what the e2e_node tests import as well, which
# `go mod tidy` does not keep: after a tidy, run
#   go list -mod=mod -test -deps k8s.io/kubernetes/test/e2e_node >/dev/null
# in test/nodeconf/suite.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
moddir=$here/suite
version=$(awk '$1=="k8s.io/kubernetes"{print $2; exit}' "$moddir/go.mod")
[[ -n $version ]] || { echo "build: no k8s.io/kubernetes version in $moddir/go.mod" >&2; exit 1; }
cache=${DOCKERLET_NODE_CACHE:-/var/cache/dockerlet-node}
out=$cache/e2e-node-$version

bins=(e2e_node.test ginkgo agnhost nnp pause imagelist)
cached() {
	local b
	for b in "${bins[@]}"; do [[ -x $out/$b ]] || return 1; done
}
if cached; then
	echo "$out"
	exit 0
fi
mkdir -p "$out"

major=${version#v}; major=${major%%.*}
minor=${version#v*.}; minor=${minor%%.*}
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
build() { # OUTPUT GO-COMMAND... PACKAGE
	local o=$1 target=${*: -1} start
	set -- "${@:2:$#-2}"
	[[ -x $out/$o ]] && return 0
	start=$(date +%s)
	(cd "$moddir" && CGO_ENABLED=0 go "$@" -trimpath -ldflags "$ldflags" -o "$out/$o.tmp" "$target")
	mv "$out/$o.tmp" "$out/$o"
	echo "built $o $version in $(($(date +%s) - start))s" >&2
}
build ginkgo build github.com/onsi/ginkgo/v2/ginkgo
build imagelist build ./imagelist
build nnp build k8s.io/kubernetes/test/images/nonewprivs
build agnhost build k8s.io/kubernetes/test/images/agnhost
if [[ ! -x $out/pause ]]; then
	# The pause image's program is C; built static as its Makefile does.
	src=$(cd "$moddir" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c
	gcc -Os -Wall -Werror -static -DVERSION="$version-dockerlet" -o "$out/pause.tmp" "$src"
	mv "$out/pause.tmp" "$out/pause"
fi
build e2e_node.test test -c -vet=off k8s.io/kubernetes/test/e2e_node
echo "$out"
