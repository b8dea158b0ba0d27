#!/usr/bin/env bash
# make node-e2e: builds (or reuses) the kubelet, then runs the node e2e
# suite — a real standalone kubelet against `dockerlet serve` — with a
# bounded timeout. Skips with a message when this machine cannot run it
# (not root, no Docker), unless DOCKERLET_E2E=1: then that is a failure.
#
#   KUBELET_VERSION=v1.36.3 test/node/run.sh     another kubelet release
#   NODE_E2E_RUN=TestNode/pods/Logs test/node/run.sh   one test
#   NODE_FEATURE_GATES=KubeletCgroupDriverFromCRI=false test/node/run.sh
#       feature gates for every kubelet of the run (a test's own win)
#   NODE_CGROUP_DRIVER=systemd test/node/run.sh   the kubelet with cgroupDriver:
#       systemd, against a dockerd with the systemd cgroup driver: the suite
#       runs inside a machine with systemd as PID 1 (test/systemd/node.sh)
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
args=(-count=1 -timeout "${NODE_E2E_TIMEOUT:-25m}" -parallel 16 -v -run "${NODE_E2E_RUN:-.}" ./...)
artifacts=${DLNODE_ARTIFACTS:-${TMPDIR:-/tmp}/dlnode-artifacts}
case ${NODE_CGROUP_DRIVER:-cgroupfs} in
cgroupfs) go test "${args[@]}" || status=$? ;;
systemd)
	# The kubelet in the node sets the same host-wide sysctls; a run killed
	# before its own teardown still gets them put back here.
	tunables=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
	saved=$(sysctl -e "${tunables[@]}" | sed 's/ = /=/')
	trap 'sysctl -q -w $saved >/dev/null || true' EXIT
	artifacts=$artifacts/systemd
	DLSD_KEEP_DIR=$artifacts "$here/../systemd/gotest.sh" "${args[@]}" || status=$?
	;;
*) echo "node-e2e: NODE_CGROUP_DRIVER must be cgroupfs or systemd" >&2; exit 2 ;;
esac
echo "node-e2e: finished in $(( $(date +%s) - start ))s (logs: $artifacts)"
exit $status
