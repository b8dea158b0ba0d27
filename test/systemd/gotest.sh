#!/usr/bin/env bash
# Runs `go test` against Docker's systemd cgroup driver: the test binaries
# are built here and run inside a systemd test node (node.sh: systemd as
# PID 1, a private dockerd with native.cgroupdriver=systemd, DOCKER_HOST
# set), with a copy of the checkout at the checkout's own path.
#
#   test/systemd/gotest.sh [-C DIR] GO-TEST-ARGS...
#
# -C runs `go test` in DIR (a module of its own, as test/node). dockerlet is
# built once into the node (DOCKERLET_BIN), and KUBELET_BIN and crictl are
# copied in when there are any. DLSD_KEEP_DIR names a host directory that
# gets, when the run ends, what the tests left in DLNODE_ARTIFACTS, the
# node's dockerd log and its journal.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=$PWD
if [[ ${1:-} == -C ]]; then
	dir=$(cd "$2" && pwd)
	shift 2
fi

node=$("$here/node.sh" up)
finish() {
	if [[ -n ${DLSD_KEEP_DIR:-} ]]; then
		mkdir -p "$DLSD_KEEP_DIR"
		cp -r "$node/x/artifacts/." "$DLSD_KEEP_DIR/" 2>/dev/null || true
		"$here/node.sh" logs "$node" "$DLSD_KEEP_DIR" || true
	fi
	"$here/node.sh" down "$node"
}
trap finish EXIT
"$here/node.sh" src "$node" "$root"
make -s -C "$root" build BIN="$node/x/bin/dockerlet"
export DOCKERLET_BIN=$node/x/bin/dockerlet
mkdir -p "$node/x/gotmp" "$node/x/artifacts"
export DLNODE_ARTIFACTS=$node/x/artifacts
put() { ln -f "$1" "$node/x/bin/$2" 2>/dev/null || cp "$1" "$node/x/bin/$2"; }
if [[ -n ${KUBELET_BIN:-} ]]; then
	put "$KUBELET_BIN" kubelet
	export KUBELET_BIN=$node/x/bin/kubelet
fi
crictl=${CRICTL:-$(command -v crictl || echo /tmp/gobin/crictl)}
if [[ -x $crictl ]]; then
	put "$crictl" crictl
	export CRICTL=$node/x/bin/crictl
fi
echo "gotest: go test $* in a systemd node ($node; dockerd: $("$here/node.sh" exec "$node" -- docker info -f '{{.CgroupDriver}} cgroup driver, cgroup v{{.CgroupVersion}}'))"
cd "$dir"
status=0
GOTMPDIR=$node/x/gotmp go test -exec "$here/node.sh exec $node --here --" "$@" || status=$?
exit $status
