#!/usr/bin/env bash
# `make bench`: starts dockerlet and measures it with the shared cribench
# driver at N = 10, 50, 110 pods (latency of every List/Status/stats call,
# pod start-up and teardown, CPU and RSS of dockerlet and dockerd idle and
# under kubelet-like polling), and in the same run the floor: the same two
# containers created and started through the Docker API directly (plus the
# CNI ADD in CNI mode), once before and once after cribench. Results:
# bin/bench/<mode>/ — cribench.txt (the table), floor.txt, docker-ops.txt
# (Docker calls dockerlet made in each phase, from its own metrics),
# metrics.txt (its /metrics at the end),
# heap.pprof (dockerlet's heap at the largest N), summary.txt.
#
#   scripts/bench.sh [docker|cni]...        (default: docker cni)
#
# Environment: BENCH_COUNTS (10,50,110), BENCH_FLOOR_N (30), BENCH_ITERS,
# BENCH_POLL (cribench -poll, default 120s), BENCH_IDLE (60s), BENCH_SHARED (the shared harness directory, default ../shared beside the checkout),
# BENCH_SERVE_ARGS (extra `dockerlet serve` flags), BENCH_BIN (the server
# binary: default bin/dockerlet-serve, `make build-serve`; bin/dockerlet for
# the full one), BENCH_PPROF=1 (serve --debug-pprof-addr and save
# heap.pprof; off by default, as in production: heap-profile sampling costs
# RSS).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
modes=("$@")
[[ ${#modes[@]} -gt 0 ]] || modes=(docker cni)
for m in "${modes[@]}"; do
	[[ $m == docker || $m == cni ]] || { echo "bench: unknown mode $m (want docker or cni)" >&2; exit 2; }
done
HARNESS=
d=${BENCH_SHARED:-$PWD/../shared}; [[ -d $d/cribench ]] && HARNESS=$(cd "$d" && pwd)
[[ -n $HARNESS ]] || { echo "bench: shared/cribench not found" >&2; exit 2; }
PAUSE=localhost:5000/pause:3.10
IMAGE=localhost:5000/e2e-test-images/busybox:1.29-2
# The pause and busybox stand-ins, in Docker (and on 127.0.0.1:5000).
docker image inspect "$PAUSE" "$IMAGE" >/dev/null 2>&1 || "$HARNESS/critest/images.sh" >/dev/null
CNI_BIN=
for d in /opt/cni/bin /usr/lib/cni; do [[ -x $d/bridge ]] && { CNI_BIN=$d; break; }; done
make -s build build-serve
BIN=${BENCH_BIN:-bin/dockerlet-serve}
go build -o bin/floor ./test/bench/floor

# freeport prints a free TCP port on 127.0.0.1.
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# scrape OUT METRICS: one sample of the Docker operation counters that
# dockerlet's metrics report (a line: time, op=count ...).
scrape() {
	local line
	line=$(curl -fsS --max-time 2 "$2" 2>/dev/null |
		awk '/^dockerlet_docker_operations_total/ { match($0, /operation="[^"]*"/); op = substr($0, RSTART+11, RLENGTH-12); printf "%s=%s ", op, $NF }') || true
	echo "$(date +%s) $line" >>"$1/docker-ops.raw"
}

# sample OUT METRICS PPROF: a sample at start and at each phase cribench
# announces (idle, polling, teardown), so that the phases' Docker calls are
# exact without scraping all along (a scrape every 2 s cost dockerlet ~0.1 %
# of a core, a fifth of its polling bar); once the idle window began, one
# heap profile when BENCH_PPROF=1.
sample() {
	local out=$1 murl=$2 purl=$3 heap=0 seen=-1 n
	while :; do
		n=$(grep -c -E '\] (idle window|kubelet-like polling|tearing down)' "$out/console.txt" 2>/dev/null) || true
		if [[ ${n:-0} != "$seen" ]]; then
			scrape "$out" "$murl"
			seen=${n:-0}
		fi
		if [[ $heap == 0 && ${BENCH_PPROF:-0} == 1 ]] && grep -q '\] idle window' "$out/console.txt" 2>/dev/null; then
			sleep 5
			curl -fsS --max-time 10 -o "$out/heap.pprof" "$purl/debug/pprof/heap" && heap=1
		fi
		sleep 0.2
	done
}

# phase_ops OUT: Docker calls per phase from docker-ops.raw and the phase
# timestamps in console.txt.
phase_ops() {
	local out=$1
	# Phases are delimited by the epoch stamps console.txt carries.
	local idle poll tear
	idle=$(awk '/\] idle window/ { print substr($1, 2) + 0; exit }' "$out/console.txt")
	poll=$(awk '/\] kubelet-like polling/ { print substr($1, 2) + 0; exit }' "$out/console.txt")
	tear=$(awk '/\] tearing down/ { print substr($1, 2) + 0; exit }' "$out/console.txt")
	[[ -n $idle && -n $poll && -n $tear ]] || { echo "phase_ops: phases not found"; return 0; }
	awk -v a="$idle" -v b="$poll" -v c="$tear" '
	function snap(t,   i, k) { for (i = 1; i <= n; i++) if (T[i] >= t) return i; return n }
	{ n++; T[n] = $1; for (i = 2; i <= NF; i++) { split($i, kv, "="); V[n, kv[1]] = kv[2]; ops[kv[1]] = 1 } }
	END {
		ia = snap(a); ib = snap(b); ic = snap(c)
		printf "Docker calls made by dockerlet (its metrics, sampled at each phase)\n"
		printf "%-28s %10s %10s\n", "operation", "idle", "polling"
		printf "%-28s %10.0fs %9.0fs\n", "(window)", T[ib] - T[ia], T[ic] - T[ib]
		for (k in ops) { di = V[ib, k] - V[ia, k]; dp = V[ic, k] - V[ib, k]; if (di || dp) printf "%-28s %10d %10d\n", k, di, dp; any = 1 }
	}' "$out/docker-ops.raw"
}

cleanup_cni() {
	ip link del dlbench0 2>/dev/null || true
}

for mode in "${modes[@]}"; do
	out=$PWD/bin/bench/$mode
	rm -rf "$out"
	mkdir -p "$out"
	work=$(mktemp -d /tmp/dockerlet-bench.XXXXXX)
	chmod 755 "$work"
	mport=$(freeport)
	pport=$(freeport)
	args=(serve --container-runtime-endpoint "unix://$work/dockerlet.sock" --root-directory "$work/root"
		--pod-infra-container-image "$PAUSE" --metrics-bind-addr "127.0.0.1:$mport")
	[[ ${BENCH_PPROF:-0} == 1 ]] && args+=(--debug-pprof-addr "127.0.0.1:$pport")
	floorargs=()
	if [[ $mode == cni ]]; then
		[[ -n $CNI_BIN ]] || { echo "bench: no CNI plugins (apt-get install containernetworking-plugins)" >&2; exit 2; }
		cleanup_cni
		mkdir -p "$work/cni"
		# firewall: Docker sets the FORWARD policy to DROP; the plugin adds
		# the pod's accept rules (as every CNI setup next to Docker needs).
		cat >"$work/cni/10-dlbench.conflist" <<CONF
{"cniVersion":"1.0.0","name":"dlbench","plugins":[
 {"type":"bridge","bridge":"dlbench0","isGateway":true,"ipMasq":true,
  "ipam":{"type":"host-local","ranges":[[{"subnet":"10.79.0.0/16"}]],"dataDir":"$work/ipam"}},
 {"type":"portmap","capabilities":{"portMappings":true}},
 {"type":"firewall"}]}
CONF
		args+=(--network-plugin cni --cni-bin-dir "$CNI_BIN" --cni-conf-dir "$work/cni" --cni-cache-dir "$work/cni-cache")
		floorargs+=(-cni-conf-dir "$work/cni" -cni-bin-dir "$CNI_BIN" -cni-cache-dir "$work/floor-cni-cache")
	fi
	# shellcheck disable=SC2086
	"$BIN" "${args[@]}" ${BENCH_SERVE_ARGS:-} >"$out/dockerlet.log" 2>&1 &
	pid=$!
	sampler=
	trap 'kill $pid ${sampler:-} 2>/dev/null || true; wait $pid 2>/dev/null || true; [[ $mode == cni ]] && cleanup_cni; rm -rf "$work"' EXIT
	for _ in $(seq 600); do [[ -S $work/dockerlet.sock ]] && break; sleep 0.2; done
	[[ -S $work/dockerlet.sock ]] || { echo "bench: dockerlet did not start:" >&2; cat "$out/dockerlet.log" >&2; exit 1; }
	sample "$out" "http://127.0.0.1:$mport/metrics" "http://127.0.0.1:$pport" &
	sampler=$!
	echo "== $mode mode: floor"
	bin/floor -n "${BENCH_FLOOR_N:-30}" -pause "$PAUSE" -image "$IMAGE" -json "$out/floor.json" "${floorargs[@]}" | tee "$out/floor.txt"
	echo "== $mode mode: cribench"
	"$HARNESS/cribench/run.sh" "$out" -endpoint "unix://$work/dockerlet.sock" -image "$IMAGE" \
		-counts "${BENCH_COUNTS:-10,50,110}" -poll "${BENCH_POLL:-120s}" -idle "${BENCH_IDLE:-60s}" \
		${BENCH_ITERS:+-iters "$BENCH_ITERS"} -log-dir "$work/logs" \
		-pids "dockerlet=$pid,dockerd=$(pidof dockerd)" 2>&1 |
		while IFS= read -r l; do printf '[%s] %s\n' "$(date +%s)" "$l"; done | tee "$out/console.txt"
	echo "== $mode mode: floor again (after)"
	bin/floor -n "${BENCH_FLOOR_N:-30}" -pause "$PAUSE" -image "$IMAGE" -json "$out/floor-after.json" "${floorargs[@]}" | tee -a "$out/floor.txt"
	kill "$sampler" 2>/dev/null || true
	curl -fsS --max-time 10 -o "$out/metrics.txt" "http://127.0.0.1:$mport/metrics" || true
	phase_ops "$out" | tee "$out/docker-ops.txt"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	trap - EXIT
	[[ $mode == cni ]] && cleanup_cni
	rm -rf "$work"
	test/bench/summary.sh "$out" | tee "$out/summary.txt"
done
echo "bench: results in bin/bench/"
