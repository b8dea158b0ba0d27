#!/usr/bin/env bash
# Runs the CRI validation suite (critest v1.37.0, through the shared offline
# harness) against a freshly started `dockerlet serve` and prints the counts
# line "critest: N passed, N failed, N skipped".
#
#   scripts/conformance.sh [OUTDIR]
#
# Environment:
#   CRITEST_HARNESS   harness directory (default: shared/critest beside the checkout)
#   CONFORMANCE_MODE  prefix (default; images pre-seeded through Docker) or
#                     mirror (dockerlet pulls registry.k8s.io, gcr.io and
#                     k8s.gcr.io from 127.0.0.1:5000 via --registry-mirror)
#   CONFORMANCE_WEBSOCKET=1  exec, attach and port-forward specs over WebSocket
#                     (critest --websocket-exec/-attach/-portforward) instead of SPDY
#   CONFORMANCE_NETWORK=cni  pods on a CNI bridge (dltconf0, the first free of
#                     10.89-99.0.0/16; needs root
#                     and the plugins in /usr/lib/cni or /opt/cni/bin) instead of
#                     Docker's bridge; the bridge is deleted afterwards
#   CONFORMANCE_CGROUP_DRIVER=systemd  against Docker's systemd cgroup driver:
#                     dockerlet, its dockerd and critest run in a machine with
#                     systemd as PID 1 (test/systemd/node.sh; root, systemd,
#                     dbus), the pods in critest's /test.slice
#   CONFORMANCE_FOCUS  a regular expression: only the specs it matches run
#                     (critest --ginkgo.focus); CI's bounded runs
#   DOCKERLET_BIN     binary to run (default bin/dockerlet, built first)
#   DOCKER_HOST       the engine dockerlet runs on (default: the local socket);
#                     test/engine/run.sh (make conformance DOCKERLET_ENGINE=29)
#                     sets it to a private daemon and DOCKERLET_MACHINE_DOCKER_HOST
#                     to the machine's, which the harness keeps using to build
#                     and push its images
# Exit status: the harness's (0 no failures, 1 failures, 2 set-up error).
set -euo pipefail
cd "$(dirname "$0")/.."
# The shared harness lives beside the checkout unless CRITEST_HARNESS says.
HARNESS=${CRITEST_HARNESS:-$PWD/../shared/critest}
[[ -d $HARNESS ]] && HARNESS=$(cd "$HARNESS" && pwd)
MODE=${CONFORMANCE_MODE:-prefix}
NETWORK=${CONFORMANCE_NETWORK:-docker}
DRIVER=${CONFORMANCE_CGROUP_DRIVER:-cgroupfs}
name=$MODE
[[ $NETWORK == cni ]] && name+=-cni
[[ ${CONFORMANCE_WEBSOCKET:-} == 1 ]] && name+=-websocket
[[ $DRIVER == systemd ]] && name+=-systemd
OUT=${1:-$PWD/bin/conformance-$name}

if [[ -z ${DOCKERLET_BIN:-} ]]; then
	make -s build
	DOCKERLET_BIN=bin/dockerlet
fi
[[ -x $HARNESS/run.sh ]] || { echo "conformance: no harness at $HARNESS" >&2; exit 2; }
# The harness builds the tools and images itself when they are missing.
[[ -x ${CRITEST_TOOLS_BIN:-/tmp/gobin}/critest ]] || "$HARNESS/tools.sh"

# With the systemd driver everything that sees the pods' processes, paths
# and cgroups runs in the systemd node: dockerlet, its dockerd, critest
# (through a wrapper the harness calls as its critest) and the harness's
# `docker tag`. The harness itself, crictl and the registry stay on the
# host; the socket, the reports and the binaries are in the node's exchange
# directory, at the same path on both sides.
ENGINE_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
node=
run=()
if [[ $DRIVER == systemd ]]; then
	node=$(test/systemd/node.sh up) || exit 2
	trap 'test/systemd/node.sh down "$node"' EXIT
	WORK=$node/x/conformance
	mkdir -m 755 "$WORK" "$WORK/out"
	install -m 755 "$DOCKERLET_BIN" "$node/x/bin/dockerlet"
	DOCKERLET_BIN=$node/x/bin/dockerlet
	install -m 755 "${CRITEST_BIN:-$(command -v critest || echo "${CRITEST_TOOLS_BIN:-/tmp/gobin}/critest")}" "$node/x/bin/critest"
	# critest runs in the harness's scratch directory (TMPDIR): the same
	# path is made in the node.
	printf '#!/bin/bash\nexec %q exec %q --wd "$PWD" --mkdir --env TMPDIR="$PWD" -- %q "$@"\n' \
		"$PWD/test/systemd/node.sh" "$node" "$node/x/bin/critest" >"$WORK/critest"
	chmod 755 "$WORK/critest"
	run=(test/systemd/node.sh exec "$node" --)
	d=$("${run[@]}" docker info -f '{{.CgroupDriver}}') || exit 2
	[[ $d == systemd ]] || { echo "conformance: the node's dockerd uses the $d cgroup driver" >&2; exit 2; }
	echo "conformance: dockerd with the systemd cgroup driver under systemd $("${run[@]}" systemctl --version | awk 'NR == 1 {print $2}') as PID 1 ($node)"
	ENGINE_HOST=$(sed -n 's/^DOCKER_HOST=//p' "$node/x/dockerd.env")
else
	WORK=$(mktemp -d /tmp/dockerlet-conformance.XXXXXX)
	chmod 755 "$WORK"
fi
SOCK=$WORK/dockerlet.sock

# critest dials the socket afresh for every spec (two connections) and
# closes none: ~280 by the end of a run (serve's default cap is 1024 and
# closes connections idle for 2 minutes; the flag keeps the run clear of
# both whatever the defaults become).
args=(serve --container-runtime-endpoint "unix://$SOCK" --root-directory "$WORK/root"
	--pod-infra-container-image localhost:5000/pause:3.10 --docker-endpoint "$ENGINE_HOST"
	--cri-max-connections 1024)
env=()
if [[ -n ${DOCKERLET_MACHINE_DOCKER_HOST:-} ]]; then
	env+=(DOCKER_HOST="$DOCKERLET_MACHINE_DOCKER_HOST")
fi
if [[ $MODE == mirror ]]; then
	for h in registry.k8s.io gcr.io k8s.gcr.io; do
		args+=(--registry-mirror "$h=http://127.0.0.1:5000")
	done
	env+=(CRITEST_MODE=mirror)
elif [[ -n $node ]]; then
	env+=(CRITEST_PRESEED="$PWD/test/systemd/node.sh exec $node -- docker tag {src} {dst}")
else
	# Tag the pre-seeded images in the engine dockerlet runs on.
	env+=("CRITEST_PRESEED=docker -H $ENGINE_HOST tag {src} {dst}")
fi
[[ -n $node ]] && env+=(CRITEST_BIN="$WORK/critest")
critest_args=()
[[ -n ${CONFORMANCE_FOCUS:-} ]] && critest_args+=("--ginkgo.focus=$CONFORMANCE_FOCUS")
if [[ ${CONFORMANCE_WEBSOCKET:-} == 1 ]]; then
	critest_args+=(--websocket-exec --websocket-attach --websocket-portforward)
fi
cni_bridge=
if [[ $NETWORK == cni ]]; then
	# A bridge of its own, its IPAM, cache and netns pins in the work dir.
	cni_bridge=dltconf0
	ip link del "$cni_bridge" 2>/dev/null || true # a killed run's
	subnet=
	for n in $(seq 89 99); do
		ip -4 route | grep -q "^10\.$n\." || { subnet=10.$n.0.0/16; break; }
	done
	[[ -n $subnet ]] || { echo "conformance: no free 10.89-99.0.0/16 subnet for cni mode" >&2; rm -rf "$WORK"; exit 2; }
	mkdir -p "$WORK/cni/conf"
	cat >"$WORK/cni/conf/10-dltconf.conflist" <<-EOF
	{"cniVersion": "1.0.0", "name": "dltconf", "plugins": [
	  {"type": "bridge", "bridge": "$cni_bridge", "isGateway": true, "ipMasq": false, "hairpinMode": true,
	   "ipam": {"type": "host-local", "dataDir": "$WORK/cni/ipam", "ranges": [[{"subnet": "$subnet"}]]}},
	  {"type": "portmap", "capabilities": {"portMappings": true}},
	  {"type": "firewall"}]}
	EOF
	args+=(--network-plugin cni --cni-conf-dir "$WORK/cni/conf" --cni-bin-dir /opt/cni/bin,/usr/lib/cni
		--cni-cache-dir "$WORK/cni/cache" --cni-netns-dir "$WORK/cni/netns")
fi

"${run[@]}" "$DOCKERLET_BIN" "${args[@]}" >"$WORK/dockerlet.log" 2>&1 &
pid=$!
cleanup() {
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	mkdir -p "$OUT" && cp "$WORK/dockerlet.log" "$OUT/dockerlet.log" 2>/dev/null || true
	[[ -z $cni_bridge ]] || ip link del "$cni_bridge" 2>/dev/null || true
	if [[ -n $node ]]; then
		cp -r "$WORK/out/." "$OUT/" 2>/dev/null || true
		test/systemd/node.sh logs "$node" "$OUT" || true
		test/systemd/node.sh down "$node" || true
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
for _ in $(seq 50); do
	[[ -S $SOCK ]] && break
	kill -0 "$pid" 2>/dev/null || { cat "$WORK/dockerlet.log" >&2; exit 2; }
	sleep 0.2
done

# critest writes its reports where the node sees them too.
out=$OUT
[[ -n $node ]] && out=$WORK/out
set +e
env "${env[@]}" "$HARNESS/run.sh" "$SOCK" "$out" "${critest_args[@]}" | tee "$WORK/run.out"
rc=${PIPESTATUS[0]}
set -e
if [[ -n $node ]]; then
	mkdir -p "$OUT"
	cp -r "$out/." "$OUT/"
fi
grep -E '^critest: ' "$WORK/run.out" | tail -1 || echo "critest: no result (see $OUT)"
[[ $rc -le 1 && -f $OUT/summary.json ]] || exit "$rc"
# Failures are the runtime's own unless this machine causes them (listed,
# with reasons, in test/conformance/accepted-failures.txt).
go run ./test/conformance/gate "$OUT/summary.json" test/conformance/accepted-failures.txt
