#!/usr/bin/env bash
# Runs a command against the Docker Engine that DOCKERLET_ENGINE selects:
#
#   test/engine/run.sh CMD [ARGS...]
#
# DOCKERLET_ENGINE unset or 20.10: CMD runs as is, against the machine's
# daemon (DOCKER_HOST or /var/run/docker.sock).
# DOCKERLET_ENGINE=29: the engine is built (or found in its cache) by
# test/engine/build-engine.sh, a private daemon of it is started with its
# own roots, socket and bridge (internal/testutil/privdockerd; the
# machine's daemon is never touched), CMD runs with DOCKER_HOST pointing at
# it, and the daemon and all it made are removed afterwards.
# DOCKERLET_IMAGE_STORE=containerd gives that daemon the containerd image
# store (default: the graph driver, overlay2).
#
# The exit status is CMD's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

case ${DOCKERLET_ENGINE:-} in
"" | 20.10 | system)
	[[ -z ${DOCKERLET_IMAGE_STORE:-} || ${DOCKERLET_IMAGE_STORE} == graphdriver ]] ||
		{ echo "engine: DOCKERLET_IMAGE_STORE=$DOCKERLET_IMAGE_STORE needs DOCKERLET_ENGINE=29" >&2; exit 2; }
	exec "$@"
	;;
29) ;;
*)
	echo "engine: DOCKERLET_ENGINE=$DOCKERLET_ENGINE: want 20.10 or 29" >&2
	exit 2
	;;
esac

DOCKERLET_ENGINE_DIR=$("$here/build-engine.sh")
export DOCKERLET_ENGINE_DIR

work=$(mktemp -d /tmp/dl29-engine.XXXXXX)
(cd "$root" && go build -o "$work/privd" ./test/engine/privd)
"$work/privd" -env "$work/env" 2>"$work/privd.log" &
pid=$!
stop() {
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -rf "$work"
}
trap stop EXIT
for _ in $(seq 600); do
	[[ -f $work/env ]] && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/privd.log" >&2; exit 2; }
	sleep 0.2
done
[[ -f $work/env ]] || { echo "engine: the private daemon did not start" >&2; cat "$work/privd.log" >&2; exit 2; }
DOCKERLET_MACHINE_DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
export DOCKERLET_MACHINE_DOCKER_HOST
set -a
# shellcheck disable=SC1091
source "$work/env"
set +a
echo "engine: Docker $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'), image store ${DOCKERLET_IMAGE_STORE:-graphdriver}, at $DOCKER_HOST" >&2
set +e
"$@"
rc=$?
set -e
exit $rc
