#!/usr/bin/env bash
# `make bench`: starts dockerlet and measures it with the shared cribench
# driver at N = 10, 50, 110 pods (latency of every List/Status/stats call,
# pod start-up and teardown, CPU and RSS of dockerlet and dockerd idle and
# under kubelet-like polling), and in the same run the floor: the same two
# containers created and started through the Docker API directly (plus the
# CNI ADD in CNI mode). Results: bin/bench/<mode>/.
#
#   scripts/bench.sh [docker|cni]...        (default: docker cni)
#
# Environment: BENCH_COUNTS (10,50,110), BENCH_FLOOR_N (30), BENCH_ITERS,
# BENCH_POLL (cribench -poll, default 120s), BENCH_IDLE (60s).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
modes=("$@")
[[ ${#modes[@]} -gt 0 ]] || modes=(docker cni)
HARNESS=
for d in "$PWD/../shared" /work/shared; do [[ -d $d/cribench ]] && { HARNESS=$(cd "$d" && pwd); break; }; done
[[ -n $HARNESS ]] || { echo "bench: shared/cribench not found" >&2; exit 2; }
"$HARNESS/critest/images.sh" >/dev/null # pause + busybox stand-ins in Docker and on 127.0.0.1:5000
PAUSE=localhost:5000/pause:3.10
IMAGE=localhost:5000/e2e-test-images/busybox:1.29-2
make -s build
go build -o bin/floor ./test/bench/floor

for mode in "${modes[@]}"; do
	out=$PWD/bin/bench/$mode
	work=$(mktemp -d /tmp/dockerlet-bench.XXXXXX)
	chmod 755 "$work"
	mkdir -p "$out"
	args=(serve --container-runtime-endpoint "unix://$work/dockerlet.sock" --root-directory "$work/root"
		--pod-infra-container-image "$PAUSE")
	floorargs=()
	if [[ $mode == cni ]]; then
		mkdir -p "$work/cni"
		cat >"$work/cni/10-dlbench.conflist" <<CONF
{"cniVersion":"1.0.0","name":"dlbench","plugins":[
 {"type":"bridge","bridge":"dlbench0","isGateway":true,"ipMasq":true,
  "ipam":{"type":"host-local","ranges":[[{"subnet":"10.79.0.0/16"}]],"dataDir":"$work/ipam"}},
 {"type":"portmap","capabilities":{"portMappings":true}},
 {"type":"firewall"}]}
CONF
		args+=(--network-plugin cni --cni-conf-dir "$work/cni" --cni-cache-dir "$work/cni-cache")
		floorargs+=(-cni-conf-dir "$work/cni")
	fi
	bin/dockerlet "${args[@]}" >"$out/dockerlet.log" 2>&1 &
	pid=$!
	trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
	for _ in $(seq 50); do [[ -S $work/dockerlet.sock ]] && break; sleep 0.2; done
	echo "== $mode mode: floor"
	bin/floor -n "${BENCH_FLOOR_N:-30}" -pause "$PAUSE" -image "$IMAGE" -json "$out/floor.json" "${floorargs[@]}" | tee "$out/floor.txt"
	echo "== $mode mode: cribench"
	"$HARNESS/cribench/run.sh" "$out" -endpoint "unix://$work/dockerlet.sock" -image "$IMAGE" \
		-counts "${BENCH_COUNTS:-10,50,110}" -poll "${BENCH_POLL:-120s}" -idle "${BENCH_IDLE:-60s}" \
		${BENCH_ITERS:+-iters "$BENCH_ITERS"} \
		-pids "dockerlet=$pid,dockerd=$(pidof dockerd)"
	echo "== $mode mode: floor again (after)"
	bin/floor -n "${BENCH_FLOOR_N:-30}" -pause "$PAUSE" -image "$IMAGE" -json "$out/floor-after.json" "${floorargs[@]}" | tee -a "$out/floor.txt"
	kill "$pid"; wait "$pid" 2>/dev/null || true
	trap - EXIT
	[[ $mode == cni ]] && ip link del dlbench0 2>/dev/null || true
	rm -rf "$work"
done
echo "bench: results in bin/bench/"
