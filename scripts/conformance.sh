#!/usr/bin/env bash
# Runs the CRI validation suite (critest v1.37.0, through the shared offline
# harness) against a freshly started `dockerlet serve` and prints the counts
# line "critest: N passed, N failed, N skipped".
#
#   scripts/conformance.sh [OUTDIR]
#
# Environment:
#   CRITEST_HARNESS   harness directory (default ../shared/critest, else /work/shared/critest)
#   CONFORMANCE_MODE  prefix (default; images pre-seeded through Docker) or
#                     mirror (dockerlet pulls registry.k8s.io, gcr.io and
#                     k8s.gcr.io from 127.0.0.1:5000 via --registry-mirror)
#   DOCKERLET_BIN     binary to run (default bin/dockerlet, built first)
# Exit status: the harness's (0 no failures, 1 failures, 2 set-up error).
set -euo pipefail
cd "$(dirname "$0")/.."
# CI lays shared/ beside the clone; sessions have it at /work/shared.
HARNESS=${CRITEST_HARNESS:-}
if [[ -z $HARNESS ]]; then
	for d in "$PWD/../shared/critest" /work/shared/critest; do
		[[ -x $d/run.sh ]] && { HARNESS=$(cd "$d" && pwd); break; }
	done
fi
MODE=${CONFORMANCE_MODE:-prefix}
OUT=${1:-$PWD/bin/conformance-$MODE}
WORK=$(mktemp -d /tmp/dockerlet-conformance.XXXXXX)
chmod 755 "$WORK"
SOCK=$WORK/dockerlet.sock

if [[ -z ${DOCKERLET_BIN:-} ]]; then
	make -s build
	DOCKERLET_BIN=bin/dockerlet
fi
[[ -x $HARNESS/run.sh ]] || { echo "conformance: no harness at $HARNESS" >&2; exit 2; }
# The harness builds the tools and images itself when they are missing.
[[ -x ${CRITEST_TOOLS_BIN:-/tmp/gobin}/critest ]] || "$HARNESS/tools.sh"

args=(serve --container-runtime-endpoint "unix://$SOCK" --root-directory "$WORK/root"
	--pod-infra-container-image localhost:5000/pause:3.10)
env=()
if [[ $MODE == mirror ]]; then
	for h in registry.k8s.io gcr.io k8s.gcr.io; do
		args+=(--registry-mirror "$h=http://127.0.0.1:5000")
	done
	env+=(CRITEST_MODE=mirror)
else
	env+=(CRITEST_PRESEED=docker)
fi

"$DOCKERLET_BIN" "${args[@]}" >"$WORK/dockerlet.log" 2>&1 &
pid=$!
cleanup() {
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	mkdir -p "$OUT" && cp "$WORK/dockerlet.log" "$OUT/dockerlet.log" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 50); do
	[[ -S $SOCK ]] && break
	kill -0 "$pid" 2>/dev/null || { cat "$WORK/dockerlet.log" >&2; exit 2; }
	sleep 0.2
done

set +e
env "${env[@]}" "$HARNESS/run.sh" "$SOCK" "$OUT" | tee "$WORK/run.out"
rc=${PIPESTATUS[0]}
set -e
grep -E '^critest: ' "$WORK/run.out" | tail -1 || echo "critest: no result (see $OUT)"
[[ $rc -le 1 && -f $OUT/summary.json ]] || exit "$rc"
# Failures are the runtime's own unless this machine causes them (listed,
# with reasons, in test/conformance/accepted-failures.txt).
go run ./test/conformance/gate "$OUT/summary.json" test/conformance/accepted-failures.txt
