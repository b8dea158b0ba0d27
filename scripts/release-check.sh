#!/usr/bin/env bash
# make release-check: the release's bar on this machine. Builds the release
# twice (bin/release and bin/release-again) and requires identical bytes,
# checks SHA256SUMS, then (as root, with dpkg) installs the amd64 .deb,
# requires `dockerlet --version` to exit 0 from the installed path with no
# Docker reachable, the units where systemd looks and nothing enabled, and
# purges the package again. Refuses to touch a dockerlet package that was
# installed before it ran.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/release.sh
RELEASE_DIR=bin/release-again scripts/release.sh >/dev/null
if ! diff <(cd bin/release && sha256sum -- *) <(cd bin/release-again && sha256sum -- *); then
	echo "release-check: two builds of the same commit differ" >&2
	exit 1
fi
echo "release-check: two builds are identical"
rm -rf bin/release-again
(cd bin/release && sha256sum -c SHA256SUMS)

if [[ $(id -u) != 0 ]] || ! command -v dpkg >/dev/null; then
	echo "release-check: not root or no dpkg: the .deb is not installed" >&2
	exit 0
fi
if dpkg -s dockerlet >/dev/null 2>&1; then
	echo "release-check: a dockerlet package is installed already; leaving it alone" >&2
	exit 1
fi
deb=$(ls bin/release/dockerlet_*_amd64.deb)
dpkg -i "$deb"
trap 'dpkg -P dockerlet >/dev/null' EXIT
DOCKER_HOST=unix:///nonexistent/docker.sock /usr/bin/dockerlet --version
DOCKER_HOST=unix:///nonexistent/docker.sock /usr/bin/dockerlet-serve --version
for u in dockerlet.service dockerlet.socket dockerlet-play.service; do
	test -f "/usr/lib/systemd/system/$u"
	if [[ $(systemctl is-enabled "$u" 2>/dev/null || true) == enabled ]]; then
		echo "release-check: $u enabled by the package" >&2
		exit 1
	fi
done
test -f /etc/default/dockerlet
if command -v systemd-analyze >/dev/null; then
	out=$(systemd-analyze verify /usr/lib/systemd/system/dockerlet.service /usr/lib/systemd/system/dockerlet.socket 2>&1)
	[[ -z $out ]] || { echo "release-check: systemd-analyze verify: $out" >&2; exit 1; }
fi
echo "release-check: $deb installs, runs --version offline, enables nothing; purged"
