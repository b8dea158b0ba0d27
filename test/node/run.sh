#!/usr/bin/env bash
# make node-e2e: builds (or reuses) the kubelet, then runs the node e2e
# suite — a real standalone kubelet against `dockerlet serve` — with a
# bounded timeout. Skips with a message when this machine cannot run it
# (not root, no Docker), unless DOCKERLET_E2E=1: then that is a failure.
#
#   KUBELET_VERSION=v1.36.3 test/node/run.sh     another kubelet release
#   NODE_E2E_RUN=TestNode/pods/Logs test/node/run.sh   one test
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

skip() {
	if [[ "${DOCKERLET_E2E:-}" == 1 ]]; then
		echo "node-e2e: FAIL: $1 (DOCKERLET_E2E=1)" >&2
		exit 1
	fi
	echo "node-e2e: SKIP: $1"
	exit 0
}
[[ $(id -u) == 0 ]] || skip "needs root (the kubelet manages cgroups)"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || skip "no Docker daemon answers (./scripts/deps.sh starts one)"

# One kubelet at a time on a machine: each sets node-wide sysctls and
# creates its own kubepods cgroups; a second suite waits for the first.
exec 9>/run/lock/dockerlet-kubelet.lock
flock 9

start=$(date +%s)
kubelet=$("$here/build-kubelet.sh" "${KUBELET_VERSION:-}")
echo "node-e2e: kubelet $("$kubelet" --version) ($kubelet, ready after $(( $(date +%s) - start ))s)"

cd "$here"
export KUBELET_BIN=$kubelet
# The suite's module builds dockerlet from ../.. (serveproc): a dependency
# the project adds later must not break it for want of a go.sum line.
export GOFLAGS="$(go env GOFLAGS) -mod=mod"
status=0
go test -count=1 -timeout "${NODE_E2E_TIMEOUT:-25m}" -parallel 16 -v -run "${NODE_E2E_RUN:-.}" ./... || status=$?
echo "node-e2e: finished in $(( $(date +%s) - start ))s (logs: ${DLNODE_ARTIFACTS:-${TMPDIR:-/tmp}/dlnode-artifacts})"
exit $status
