#!/usr/bin/env bash
# Installs and starts what dockerlet's tests need on a fresh Debian 12
# machine: Docker Engine (Debian's docker.io, API 1.41), busybox-static for
# test images, CNI plugins, iproute2/iptables, htpasswd, libseccomp-dev
# (the Docker 29 test engine's runc), systemd and dbus (the systemd cgroup
# driver's test node). Idempotent: skips
# what is already there, starts dockerd only when `docker info` fails.
set -euo pipefail

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
# grep reads all its input: with pipefail, grep -q would SIGPIPE busybox.
{ [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -x httpd >/dev/null; } || need+=(busybox-static)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v curl >/dev/null 2>&1 || need+=(curl)
# runc for the Docker 29 test engine (test/engine/build-engine.sh) is built
# with cgo against libseccomp.
[ -f /usr/include/seccomp.h ] || need+=(libseccomp-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
# The systemd cgroup driver's suites boot systemd in a node of their own
# (test/systemd/node.sh); installing the packages starts nothing.
[ -x /lib/systemd/systemd ] || need+=(systemd)
command -v dbus-daemon >/dev/null 2>&1 || need+=(dbus)
if [ ${#need[@]} -gt 0 ]; then
	echo "deps: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
	echo "deps: starting dockerd"
	mkdir -p /var/log
	nohup dockerd >>/var/log/dockerd.log 2>&1 &
	for _ in $(seq 60); do
		docker info >/dev/null 2>&1 && break
		sleep 1
	done
	docker info >/dev/null 2>&1 || { echo "deps: dockerd did not start; see /var/log/dockerd.log" >&2; tail -20 /var/log/dockerd.log >&2; exit 1; }
fi
echo "deps: docker $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
