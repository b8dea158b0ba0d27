#!/usr/bin/env bash
# `make bench-cri`: dockerlet measured end to end over CRI by test/bench/scale,
# beside the floor (the same pods made through the Docker API directly,
# test/bench/floor) and, with BENCH_PEER, another runtime measured the same
# way in the same run. Per mode (docker: Docker's bridge; cni: a CNI bridge):
#
#   1. the floor, one pod at a time (BENCH_FLOOR_N pods);
#   2. BENCH_BURST_ROUNDS rounds of a burst (BENCH_BURST pods started at once
#      by BENCH_PARALLEL workers, as the kubelet's pod workers): the floor's,
#      dockerlet's, the peer's, interleaved;
#   3. dockerlet grown one pod at a time to each of BENCH_COUNTS: List, Status
#      and stats latency (and Docker's own list and inspect of the same
#      containers), an idle and a kubelet-polled window at every count
#      (CPU, RSS), start-up and teardown time and CPU per pod;
#   4. the same for the peer, at BENCH_PEER_COUNTS;
#   5. the floor again.
#
# Then test/bench/report (its own module) writes bin/bench/report/report.md —
# the bars and their verdicts, figures against pods with the slope per added
# pod, the ratios to the peer — and SVG plots.
#
#   scripts/bench.sh [docker|cni]...        (default: docker cni)
#
# Environment:
#   BENCH_COUNTS        pod counts (10,50,110); BENCH_PEER_COUNTS the peer's (same)
#   BENCH_PEER          a cri-dockerd binary (started here with the same
#                       network set-up), another dockerlet build (a binary
#                       named dockerlet*: before and after a change, in one
#                       run), or unix:///path of any CRI socket
#                       (BENCH_PEER_PID then names its process for CPU/RSS)
#   BENCH_PEER_NAME     its name in the report (the binary's name, or "peer")
#   BENCH_PEER_ARGS     extra flags for a peer binary
#   BENCH_BURST, BENCH_PARALLEL, BENCH_BURST_ROUNDS   30, 5, 3 (BENCH_BURST=0: none)
#   BENCH_IDLE, BENCH_POLL   the windows at each count (30s, 60s)
#   BENCH_SETTLE        pause after reaching each count, before sampling (3s);
#                       the steady-state bars are measured with 120s: right
#                       after 110 pods start, the start-up heap's GC and the
#                       cache's re-inspections still cost CPU for a minute
#   BENCH_GROW_PARALLEL workers that start and tear down the growth's pods (1:
#                       one at a time, the per-pod figures; more reaches big
#                       counts sooner on a slow daemon)
#   BENCH_FLOOR_N       pods of each sequential floor run (30)
#   BENCH_ITERS, BENCH_STATS_ITERS   samples of each call at each count (200, 30)
#   BENCH_BIN           the server (bin/dockerlet-serve, `make build-serve`)
#   BENCH_SERVE_ARGS    extra `dockerlet serve` flags
#   BENCH_PPROF=1       serve --debug-pprof-addr (its address in serve.log)
#   BENCH_OUT           results (bin/bench); the report goes to $BENCH_OUT/report
#   BENCH_BRIDGE, BENCH_SUBNET   CNI mode's bridge (dlbench0, 10.79.0.0/16)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
modes=("$@")
[[ ${#modes[@]} -gt 0 ]] || modes=(docker cni)
for m in "${modes[@]}"; do
	[[ $m == docker || $m == cni ]] || { echo "bench: unknown mode $m (want docker or cni)" >&2; exit 2; }
done
PAUSE=localhost:5000/pause:3.10
IMAGE=localhost:5000/e2e-test-images/busybox:1.29-2
if ! docker image inspect "$PAUSE" "$IMAGE" >/dev/null 2>&1; then
	# The pause and busybox stand-ins, built here (the shared critest harness).
	d=${BENCH_SHARED:-$PWD/../shared}
	[[ -x $d/critest/images.sh ]] || { echo "bench: $PAUSE and $IMAGE are not in Docker, and no $d/critest/images.sh to build them" >&2; exit 2; }
	"$d/critest/images.sh" >/dev/null
fi
CNI_BIN=
for d in /opt/cni/bin /usr/lib/cni; do [[ -x $d/bridge ]] && { CNI_BIN=$d; break; }; done
BIN=${BENCH_BIN:-bin/dockerlet-serve}
case $BIN in
bin/dockerlet-serve) make -s build-serve ;;
bin/dockerlet) make -s build ;;
esac
go build -o bin/floor ./test/bench/floor
go build -o bin/scale ./test/bench/scale

COUNTS=${BENCH_COUNTS:-10,50,110}
PEER=${BENCH_PEER:-}
PEER_COUNTS=${BENCH_PEER_COUNTS:-$COUNTS}
BURST=${BENCH_BURST:-30}
PARALLEL=${BENCH_PARALLEL:-5}
ROUNDS=${BENCH_BURST_ROUNDS:-3}
FLOOR_N=${BENCH_FLOOR_N:-30}
OUT=${BENCH_OUT:-$PWD/bin/bench}
BRIDGE=${BENCH_BRIDGE:-dlbench0}
SUBNET=${BENCH_SUBNET:-10.79.0.0/16}
DOCKER_SOCK=unix:///var/run/docker.sock
[[ ${DOCKER_HOST:-} == unix://* ]] && DOCKER_SOCK=$DOCKER_HOST
# Docker's cost: dockerd and the containerd it runs. The machine's daemon
# by its pid file (other, private daemons may run beside it).
DOCKERD=${BENCH_DOCKERD_PID:-$(cat /var/run/docker.pid)}
CONTAINERD=$(pgrep -P "$DOCKERD" -x containerd || true)
DOCKER_GROUP="docker=$DOCKERD${CONTAINERD:++$CONTAINERD}"
PEER_NAME=${BENCH_PEER_NAME:-}
if [[ -n $PEER && -z $PEER_NAME ]]; then
	if [[ $PEER == unix://* ]]; then PEER_NAME=peer; else PEER_NAME=$(basename "$PEER"); fi
	[[ $PEER_NAME == dockerlet ]] && PEER_NAME=dockerlet-peer # the report names dockerlet itself so
fi

# freeport prints a free TCP port on 127.0.0.1.
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# waitsock SOCK LOG: wait for a server's socket, or show its log and fail.
waitsock() {
	for _ in $(seq 600); do [[ -S $1 ]] && return 0; sleep 0.2; done
	echo "bench: no socket $1:" >&2
	tail -20 "$2" >&2
	return 1
}

# serve_args NAME METRICS_PORT: `dockerlet serve` flags into sargs, with
# state of its own under $work/NAME-*.
serve_args() {
	sargs=(serve --container-runtime-endpoint "unix://$work/$1.sock" --root-directory "$work/$1-root"
		--pod-infra-container-image "$PAUSE" --metrics-bind-addr "127.0.0.1:$2")
	[[ $mode == cni ]] && sargs+=(--network-plugin cni --cni-bin-dir "$CNI_BIN" --cni-conf-dir "$work/cni"
		--cni-cache-dir "$work/$1-cni-cache" --cni-netns-dir "$work/$1-netns")
	return 0
}

pids=()
work=
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
	ip link del "$BRIDGE" 2>/dev/null || true
	[[ -n $work ]] && rm -rf "$work"
	work=
}
trap cleanup EXIT

for mode in "${modes[@]}"; do
	out=$OUT/$mode
	rm -rf "$out"
	mkdir -p "$out/burst"
	work=$(mktemp -d "${TMPDIR:-/tmp}/dockerlet-bench.XXXXXX")
	chmod 755 "$work"
	mport=$(freeport)
	serve_args dockerlet "$mport"
	args=("${sargs[@]}")
	[[ ${BENCH_PPROF:-0} == 1 ]] && args+=(--debug-pprof-addr "127.0.0.1:$(freeport)")
	floorargs=()
	peerargs=(--container-runtime-endpoint "unix://$work/peer.sock" --cri-dockerd-root-directory "$work/peer-root"
		--pod-infra-container-image "$PAUSE" --docker-endpoint "$DOCKER_SOCK" --streaming-bind-addr 127.0.0.1:0)
	if [[ $mode == cni ]]; then
		[[ -n $CNI_BIN ]] || { echo "bench: no CNI plugins (apt-get install containernetworking-plugins)" >&2; exit 2; }
		ip link del "$BRIDGE" 2>/dev/null || true
		mkdir -p "$work/cni"
		# One network for the floor, dockerlet and the peer. firewall: Docker
		# sets the FORWARD policy to DROP; the plugin adds the pods' accept
		# rules (as every CNI set-up next to Docker needs).
		cat >"$work/cni/10-dlbench.conflist" <<CONF
{"cniVersion":"1.0.0","name":"dlbench","plugins":[
 {"type":"bridge","bridge":"$BRIDGE","isGateway":true,"ipMasq":true,
  "ipam":{"type":"host-local","ranges":[[{"subnet":"$SUBNET"}]],"dataDir":"$work/ipam"}},
 {"type":"portmap","capabilities":{"portMappings":true}},
 {"type":"firewall"}]}
CONF
		floorargs+=(-cni-conf-dir "$work/cni" -cni-bin-dir "$CNI_BIN" -cni-cache-dir "$work/floor-cni-cache")
		peerargs+=(--network-plugin cni --cni-bin-dir "$CNI_BIN" --cni-conf-dir "$work/cni" --cni-cache-dir "$work/peer-cni-cache")
	else
		peerargs+=(--network-plugin no-op) # Docker's default bridge, as dockerlet's docker mode
	fi
	# shellcheck disable=SC2086
	"$BIN" "${args[@]}" ${BENCH_SERVE_ARGS:-} >"$out/serve.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	waitsock "$work/dockerlet.sock" "$out/serve.log"
	peer_ep= peer_group=
	if [[ -n $PEER ]]; then
		if [[ $PEER == unix://* ]]; then
			peer_ep=$PEER
			[[ -n ${BENCH_PEER_PID:-} ]] && peer_group="$PEER_NAME=$BENCH_PEER_PID,"
		else
			if [[ $(basename "$PEER") == dockerlet* ]]; then
				# Another build of dockerlet (an older one, to measure a
				# change): the same flags as dockerlet's, its own state.
				serve_args peer "$(freeport)"
				peerargs=("${sargs[@]}")
			fi
			# shellcheck disable=SC2086
			"$PEER" "${peerargs[@]}" ${BENCH_PEER_ARGS:-} >"$out/peer.log" 2>&1 &
			ppid_=$!
			pids+=("$ppid_")
			waitsock "$work/peer.sock" "$out/peer.log"
			peer_ep=unix://$work/peer.sock
			peer_group="$PEER_NAME=$ppid_,"
		fi
	fi
	common=(-image "$IMAGE" -mode "$mode" -log-dir "$work/logs" -docker "$DOCKER_SOCK"
		-iters "${BENCH_ITERS:-200}" -stats-iters "${BENCH_STATS_ITERS:-30}"
		-idle "${BENCH_IDLE:-30s}" -poll "${BENCH_POLL:-60s}" -settle "${BENCH_SETTLE:-3s}" -grow-parallel "${BENCH_GROW_PARALLEL:-1}")
	self=(-endpoint "unix://$work/dockerlet.sock" -name dockerlet -pids "dockerlet=$pid,$DOCKER_GROUP"
		-metrics "http://127.0.0.1:$mport/metrics")
	peer=(-endpoint "$peer_ep" -name "$PEER_NAME" -pids "$peer_group$DOCKER_GROUP")

	echo "== $mode mode: floor, one pod at a time"
	bin/floor -n "$FLOOR_N" -pause "$PAUSE" -image "$IMAGE" -json "$out/floor.json" "${floorargs[@]}"
	if ((BURST > 0)); then
		for r in $(seq "$ROUNDS"); do
			echo "== $mode mode: burst round $r of $ROUNDS"
			bin/floor -n "$BURST" -parallel "$PARALLEL" -pause "$PAUSE" -image "$IMAGE" -json "$out/burst/floor-$r.json" "${floorargs[@]}"
			bin/scale "${self[@]}" "${common[@]}" -counts "" -burst "$BURST" -parallel "$PARALLEL" -json "$out/burst/dockerlet-$r.json" | grep -E '^burst'
			if [[ -n $peer_ep ]]; then
				bin/scale "${peer[@]}" "${common[@]}" -counts "" -burst "$BURST" -parallel "$PARALLEL" -json "$out/burst/peer-$r.json" | grep -E '^burst'
			fi
		done
	fi
	echo "== $mode mode: dockerlet at $COUNTS pods"
	bin/scale "${self[@]}" "${common[@]}" -counts "$COUNTS" -json "$out/dockerlet.json" | tee "$out/dockerlet.txt"
	if [[ -n $peer_ep ]]; then
		echo "== $mode mode: $PEER_NAME at $PEER_COUNTS pods"
		bin/scale "${peer[@]}" "${common[@]}" -counts "$PEER_COUNTS" -json "$out/peer.json" | tee "$out/peer.txt"
	fi
	echo "== $mode mode: floor again"
	bin/floor -n "$FLOOR_N" -pause "$PAUSE" -image "$IMAGE" -json "$out/floor-after.json" "${floorargs[@]}"
	cleanup
done
echo "== report"
(cd test/bench/report && go run . -dir "$OUT" -out "$OUT/report") >/dev/null
echo "bench: results in $OUT, the report in $OUT/report/report.md"
