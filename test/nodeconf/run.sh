#!/usr/bin/env bash
# make node-conformance: Kubernetes' own node e2e suite (e2e_node.test, the
# specs tagged [NodeConformance]) against a fresh `dockerlet serve`, offline.
# The suite starts its own etcd, kube-apiserver and kubelet; every image it
# asks for is a stand-in built here and served by the local registry on
# 127.0.0.1:5000 (the one the critest harness runs), under the names the
# suite computes from KUBE_TEST_REPO_LIST. Ends with the line
#
#   node-conformance: N passed, N failed, N skipped
#
# and exits 1 when a spec failed. Skipped specs and why: docs/node-conformance.md.
#
#   test/nodeconf/run.sh [OUTDIR]                  default bin/node-conformance
#   NODECONF_SERIAL=1       the [Serial] NodeConformance specs, one at a time
#   NODECONF_RUNTIME=containerd   the same against containerd's CRI (the
#                           machine's containerd, or CONTAINERD_BIN)
#   NODECONF_RUNTIME=cri-dockerd  the same against cri-dockerd (CRIDOCKERD_BIN,
#                           a binary built elsewhere) on this machine's Docker
#   NODECONF_FOCUS=REGEX    only the in-scope specs whose text matches (Ginkgo --focus)
#   NODECONF_FEATURE_GATES=A=true,B=false   the kubelet's (and the suite's) feature gates
#   NODECONF_PROCS=N        parallel suite processes (default 4)
#   NODECONF_TIMEOUT=90m    the whole suite's limit
#
# Skips with a message when this machine cannot run it (not root, no
# Docker), unless DOCKERLET_E2E=1: then that is a failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
runtime=${NODECONF_RUNTIME:-dockerlet}
serial=${NODECONF_SERIAL:-0}
name=node-conformance
[[ $serial == 1 ]] && name+=-serial
[[ $runtime == dockerlet ]] || name+=-$runtime
out=${1:-$repo/bin/$name}
registry=127.0.0.1:5000
# Names in the shared registry: all below one path of their own.
prefix=localhost:5000/e2e-node

skip() {
	if [[ "${DOCKERLET_E2E:-}" == 1 ]]; then
		echo "$name: FAIL: $1 (DOCKERLET_E2E=1)" >&2
		exit 1
	fi
	echo "$name: SKIP: $1"
	exit 0
}
[[ $(id -u) == 0 ]] || skip "needs root (the kubelet manages cgroups)"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || skip "no Docker daemon answers (./scripts/deps.sh starts one)"
case $runtime in
dockerlet | containerd) ;;
cri-dockerd)
	[[ -x ${CRIDOCKERD_BIN:-} ]] || { echo "$name: NODECONF_RUNTIME=cri-dockerd needs CRIDOCKERD_BIN, a cri-dockerd binary" >&2; exit 2; }
	;;
*) echo "$name: NODECONF_RUNTIME must be dockerlet, containerd or cri-dockerd" >&2; exit 2 ;;
esac
harness=${CRITEST_HARNESS:-$repo/../shared/critest}
[[ -f $harness/lib.sh ]] || { echo "$name: no critest harness at $harness (its registry serves the images)" >&2; exit 2; }

start=$(date +%s)
phase() { echo "$name: $1 ($(($(date +%s) - start))s)"; }

# --- builds (cached; outside the kubelet lock) -----------------------------
kubelet=$("$repo/test/node/build-kubelet.sh")
suite=$("$here/build.sh")
work=$(mktemp -d /tmp/dlnc-nodeconf.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
mkdir -p "$work/bin" "$work/k8s-bin" "$work/run" "$out"
rm -f "$out"/report.json "$out"/summary.txt
# The suite runs the kubelet found beside its own executable.
ln -s "$kubelet" "$work/k8s-bin/kubelet"
ln -s "$suite/e2e_node.test" "$work/k8s-bin/e2e_node.test"
(cd "$repo" && CGO_ENABLED=0 go build -o "$work/bin/nginx" ./test/nodeconf/nginx &&
	CGO_ENABLED=0 go build -o "$work/bin/nmeter" ./test/nodeconf/nmeter &&
	CGO_ENABLED=0 go build -o "$work/bin/nc" ./test/nodeconf/nc &&
	go build -o "$work/bin/images" ./test/nodeconf/images &&
	go build -o "$work/bin/summary" ./test/nodeconf/summary)
if [[ $runtime == dockerlet ]]; then
	make -C "$repo" -s build
	dockerlet=${DOCKERLET_BIN:-$repo/bin/dockerlet}
fi
phase "kubelet, suite and tools ready"

# --- images -----------------------------------------------------------------
cat >"$work/repo-list.yaml" <<EOF
promoterE2eRegistry: $prefix/e2e-test-images
buildImageRegistry: $prefix/build-image
gcEtcdRegistry: $prefix
gcRegistry: $prefix
sigStorageRegistry: $prefix/sig-storage
dockerLibraryRegistry: $prefix/library
cloudProviderGcpRegistry: $prefix/cloud-provider-gcp
EOF
export KUBE_TEST_REPO_LIST=$work/repo-list.yaml
"$suite/imagelist" >"$work/images.list"
# shellcheck source=/dev/null
(source "$harness/lib.sh" && ensure_registry)
agnhost_src=$(cd "$here/suite" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/test/images/agnhost
"$work/bin/images" -list "$work/images.list" -push-to "$registry" -agnhost "$suite/agnhost" \
	-agnhost-src "$agnhost_src" -nnp "$suite/nnp" -pause "$suite/pause" -nginx "$work/bin/nginx" -nmeter "$work/bin/nmeter" -nc "$work/bin/nc" >"$out/images.txt"
pause_image=$(awk '$1=="pause"{print $2}' "$work/images.list")
phase "images in the registry ($(wc -l <"$work/images.list"))"

# --- one kubelet at a time on this machine ------------------------------------
exec 9>/run/lock/dockerlet-kubelet.lock
flock 9
phase "holding the kubelet lock"

# shellcheck source=host.sh
source "$here/host.sh"
host_save "$work"
sock=$work/runtime.sock
runtime_pid=
teardown() {
	set +e
	# cri-dockerd's pods are in the shared dockerd without a mark of
	# this run: only cri-dockerd itself can tell them, so ask it first.
	[[ $runtime == cri-dockerd && -n $runtime_pid ]] && "$work/bin/images" -sweep "unix://$sock"
	if [[ -n $runtime_pid ]]; then
		kill -TERM "$runtime_pid" 2>/dev/null
		wait "$runtime_pid" 2>/dev/null
	fi
	[[ $runtime == containerd ]] && "$here/containerd.sh" stop "$work/containerd"
	[[ $runtime == dockerlet ]] && host_sweep_dockerlet "$work/root"
	host_restore "$work"
	rm -rf "$work"
}
trap teardown EXIT

# --- the runtime ----------------------------------------------------------------
cgroup_driver=$(docker info --format '{{.CgroupDriver}}')
if [[ $runtime != containerd ]]; then
	if [[ $runtime == dockerlet ]]; then
		"$dockerlet" serve --container-runtime-endpoint "unix://$sock" --root-directory "$work/root" \
			--pod-infra-container-image "$pause_image" >"$out/$runtime.log" 2>&1 &
	else
		# Docker's default bridge, as dockerlet's default network.
		"$CRIDOCKERD_BIN" --container-runtime-endpoint "unix://$sock" --cri-dockerd-root-directory "$work/cri-dockerd" \
			--pod-infra-container-image "$pause_image" --network-plugin no-op --streaming-bind-addr 127.0.0.1:0 \
			>"$out/$runtime.log" 2>&1 &
	fi
	runtime_pid=$!
	for _ in $(seq 100); do
		[[ -S $sock ]] && break
		kill -0 "$runtime_pid" 2>/dev/null || { tail -20 "$out/$runtime.log" >&2; exit 2; }
		sleep 0.2
	done
else
	sock=$("$here/containerd.sh" start "$work/containerd" "$pause_image" "$out/containerd.log")
	cgroup_driver=cgroupfs
fi
[[ -S $sock ]] || { echo "$name: the runtime did not listen on $sock" >&2; exit 2; }
phase "$runtime serving on $sock"
"$work/bin/images" -list "$work/images.list" -pull-through "unix://$sock" >>"$out/images.txt"
phase "images pulled through $runtime's CRI"

# --- the kubelet's base configuration -------------------------------------------
# Upstream's node e2e default (test/e2e_node/jenkins/default-kubelet-config.yaml)
# with what this machine needs; the suite adds its own settings on top.
cat >"$work/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: $cgroup_driver
cgroupRoot: /
podCIDR: 10.100.0.0/24
volumeStatsAggPeriod: 10s
fileCheckFrequency: 10s
evictionPressureTransitionPeriod: 30s
evictionHard:
  memory.available: 250Mi
  nodefs.available: 10%
  nodefs.inodesFree: 5%
evictionMinimumReclaim:
  nodefs.available: 5%
  nodefs.inodesFree: 5%
serializeImagePulls: false
# This machine: cgroup v1.
failCgroupV1: false
# Root lacks CAP_SYS_RESOURCE: the kubelet's own -999 cannot be set.
oomScoreAdj: 0
healthzBindAddress: 127.0.0.1
# The images belong to the whole machine (one shared dockerd): never
# garbage-collected by this kubelet.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
EOF
# Without systemd the suite runs the kubelet with --system-cgroups=/system
# (move every process of the host's root cgroup there) and
# --kubelet-cgroups=/kubelet; on a shared machine neither: the later flags
# win.
kubelet_flags="--system-cgroups= --kubelet-cgroups= --runtime-cgroups="
# The suite reaches the kubelet both at 127.0.0.1 and at the node's address
# (the API server's proxy), so it listens on every address; its API is
# anonymous and allows everything: nothing but this machine may reach it.
host_guard_kubelet_ports

# --- the suite ------------------------------------------------------------------
# In scope: the specs labelled NodeConformance. Out of this run: Serial
# (NODECONF_SERIAL=1 runs those), Slow and Flaky, and the ones that need a
# feature gate the kubelet's defaults leave off (Alpha, BetaOffByDefault).
procs=${NODECONF_PROCS:-4}
excluded=(Flaky Slow Serial Alpha BetaOffByDefault)
require=(-require NodeConformance)
filter='NodeConformance'
if [[ $serial == 1 ]]; then
	excluded=(Flaky Slow Alpha BetaOffByDefault)
	require+=(-require Serial)
	filter+=' && Serial'
	procs=1
fi
out_of_run=()
for l in "${excluded[@]}"; do
	filter+=" && !$l"
	out_of_run+=(-out-of-run "$l")
done
# The skip list: exact spec texts, quoted for the regular expression.
# Ginkgo matches it against the suite's description, a space and the
# spec's text, so a text is anchored at a space, not at the start.
list_skip=$({ grep -v -e '^#' -e '^[[:space:]]*$' "$here/skips.tsv" || true; } | cut -f1 |
	sed -e 's/[][\\.*^$(){}?+|/]/\\&/g' -e 's/^/ /' -e 's/$/$/' | paste -sd'|' -)
ginkgo_args=(--label-filter="$filter")
[[ -z $list_skip ]] || ginkgo_args+=(--skip="$list_skip")
[[ -z ${NODECONF_FOCUS:-} ]] || ginkgo_args+=(--focus="$NODECONF_FOCUS")
suite_args=()
[[ -z ${NODECONF_FEATURE_GATES:-} ]] || suite_args+=(--feature-gates="$NODECONF_FEATURE_GATES")

# The suite starts the kubelet through systemd-run when it finds the
# command; a machine without systemd running may still have it installed.
suite_path=$PATH
if [[ ! -d /run/systemd/system ]] && command -v systemd-run >/dev/null; then
	mkdir "$work/usr-bin"
	ln -s /usr/bin/* "$work/usr-bin/"
	rm "$work/usr-bin/systemd-run"
	suite_path=$(tr ':' '\n' <<<"$PATH" | sed -e "s|^/usr/bin$|$work/usr-bin|" -e "s|^/bin$|$work/usr-bin|" |
		awk '!seen[$0]++' | paste -sd: -)
fi

phase "running the suite ($procs processes; log $out/suite.log)"
set +e
(cd "$work/run" && PATH=$suite_path timeout --signal=INT --kill-after=2m "${NODECONF_TIMEOUT:-90m}" \
	"$suite/ginkgo" --procs="$procs" --timeout="${NODECONF_TIMEOUT:-90m}" --no-color -v \
	"${ginkgo_args[@]}" --json-report=report.json --output-dir="$out" \
	"$work/k8s-bin/e2e_node.test" -- \
	--container-runtime-endpoint="unix://$sock" \
	--kubelet-config-file="$work/kubelet-config.yaml" \
	--kubelet-flags="$kubelet_flags" \
	--prepull-images=false \
	--report-dir="$out" \
	"${suite_args[@]}" \
	>"$out/suite.log" 2>&1)
rc=$?
set -e
phase "suite finished (exit $rc)"
[[ -f $out/report.json ]] || { tail -40 "$out/suite.log" >&2; echo "$name: no report (see $out/suite.log)"; exit 2; }
set +e
"$work/bin/summary" -report "$out/report.json" -skips "$here/skips.tsv" -name "$name" \
	"${require[@]}" "${out_of_run[@]}" >"$out/summary.txt"
src=$?
set -e
grep -v '^skipped' "$out/summary.txt" || true
echo "(skipped specs and reasons: $out/summary.txt; logs: $out)"
exit $src
