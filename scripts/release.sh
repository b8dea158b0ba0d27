#!/usr/bin/env bash
# make release: what an operator installs, for linux/amd64 and linux/arm64,
# in bin/release/:
#   dockerlet-VERSION-linux-ARCH.tar.gz  bin/dockerlet (full), bin/dockerlet-serve
#                                        (node build), systemd/ (units, environment file)
#   dockerlet_PKGVERSION_ARCH.deb, dockerlet-PKGVERSION.ARCH.rpm
#                                        /usr/bin/dockerlet{,-serve}, the units in
#                                        /usr/lib/systemd/system (enabled by nobody: no
#                                        maintainer scripts), /etc/default/dockerlet or
#                                        /etc/sysconfig/dockerlet
#   dockerlet-VERSION.cdx.json           CycloneDX SBOM of go.mod
#   SHA256SUMS                           sha256sum -c SHA256SUMS
# Reproducible: the same commit gives the same bytes (-trimpath, no build
# id, every timestamp the commit's time through SOURCE_DATE_EPOCH, sorted
# archives with numeric root owners). VERSION is `git describe`. nfpm and
# cyclonedx-gomod are pinned in scripts/release/tools/go.mod and built by
# the go command through the module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
OUT=${RELEASE_DIR:-bin/release}
ARCHES=${RELEASE_ARCHES:-amd64 arm64}

VERSION=${VERSION:-$(git describe --tags --always --dirty)}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
case "$VERSION" in *-dirty) echo "release: the tree has changes: $VERSION is not reproducible" >&2 ;; esac

# Package versions must start with a digit and sort after the tag they
# follow: v0.1.0 -> 0.1.0, v0.1.0-3-gabc -> 0.1.0+3.gabc, and before any
# tag abc1234 -> 0.0.0+N.gabc1234 (N: commits so far).
pkgversion() {
	local v=${1%-dirty} dirty=
	[[ $1 == *-dirty ]] && dirty=.dirty
	if [[ $v =~ ^v([0-9]+\.[0-9]+\.[0-9]+[^-]*)(-([0-9]+)-(g[0-9a-f]+))?$ ]]; then
		if [[ -n ${BASH_REMATCH[2]} ]]; then
			echo "${BASH_REMATCH[1]}+${BASH_REMATCH[3]}.${BASH_REMATCH[4]}$dirty"
		else
			echo "${BASH_REMATCH[1]}${dirty:++dirty}"
		fi
	else
		echo "0.0.0+$(git rev-list --count HEAD).g$v$dirty"
	fi
}
PKGVERSION=$(pkgversion "$VERSION")

TOOLS=scripts/release/tools
tool() { (cd "$TOOLS" && "$GO" tool "$@"); }

rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
STAGE=$OUT/stage
LDFLAGS="-s -w -buildid= -X main.version=$VERSION"

for arch in $ARCHES; do
	root=$STAGE/$arch/dockerlet-$VERSION-linux-$arch
	mkdir -p "$root/bin" "$root/systemd"
	# As the Makefile's build and build-serve, static and path-free.
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch "$GO" build -trimpath -buildvcs=false \
		-tags grpcnotrace -ldflags "$LDFLAGS" -o "$root/bin/dockerlet" ./cmd/dockerlet
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch "$GO" build -trimpath -buildvcs=false \
		-tags noplay,grpcnotrace -ldflags "$LDFLAGS" -o "$root/bin/dockerlet-serve" ./cmd/dockerlet
	install -m 0644 contrib/systemd/dockerlet.service contrib/systemd/dockerlet.socket \
		contrib/systemd/dockerlet-play.service contrib/systemd/dockerlet.env "$root/systemd/"
	install -m 0644 README.md "$root/"
	chmod 0755 "$root" "$root/bin" "$root/systemd"

	# The packages' units run the binaries where the packages put them.
	pkg=$STAGE/$arch/pkg
	mkdir -p "$pkg"
	sed 's#/usr/local/bin/dockerlet serve#/usr/bin/dockerlet-serve serve#' contrib/systemd/dockerlet.service >"$pkg/dockerlet.service"
	sed 's#/usr/local/bin/dockerlet#/usr/bin/dockerlet#' contrib/systemd/dockerlet-play.service >"$pkg/dockerlet-play.service"
	chmod 0644 "$pkg"/*.service
	find "$STAGE/$arch" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

	tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
		--format=gnu -C "$STAGE/$arch" -cf - "dockerlet-$VERSION-linux-$arch" |
		gzip -n -9 >"$OUT/dockerlet-$VERSION-linux-$arch.tar.gz"

	cat >"$pkg/nfpm.yaml" <<YAML
name: dockerlet
arch: $arch
platform: linux
version: $PKGVERSION
version_schema: none
section: admin
priority: optional
maintainer: dockerlet maintainers <dockerlet@users.noreply.github.com>
homepage: https://github.com/dockerlet/dockerlet
description: |-
  Kubernetes pods on Docker Engine: a CRI server (dockerlet serve) for a
  kubelet, a one-host pod runner (dockerlet play) and an engine toolkit.
  Nothing is enabled or started on install: see /usr/share/doc/dockerlet.
contents:
  - src: $root/bin/dockerlet
    dst: /usr/bin/dockerlet
    file_info: {mode: 0755}
  - src: $root/bin/dockerlet-serve
    dst: /usr/bin/dockerlet-serve
    file_info: {mode: 0755}
  - src: $pkg/dockerlet.service
    dst: /usr/lib/systemd/system/dockerlet.service
    file_info: {mode: 0644}
  - src: $root/systemd/dockerlet.socket
    dst: /usr/lib/systemd/system/dockerlet.socket
    file_info: {mode: 0644}
  - src: $pkg/dockerlet-play.service
    dst: /usr/lib/systemd/system/dockerlet-play.service
    file_info: {mode: 0644}
  - src: $root/systemd/dockerlet.env
    dst: /etc/default/dockerlet
    type: config|noreplace
    packager: deb
    file_info: {mode: 0644}
  - src: $root/systemd/dockerlet.env
    dst: /etc/sysconfig/dockerlet
    type: config|noreplace
    packager: rpm
    file_info: {mode: 0644}
  - src: $root/README.md
    dst: /usr/share/doc/dockerlet/README.md
    file_info: {mode: 0644}
overrides:
  deb:
    recommends:
      - docker.io | docker-ce | moby-engine
YAML
	tool nfpm package --config "$pkg/nfpm.yaml" --packager deb --target "$OUT/"
	tool nfpm package --config "$pkg/nfpm.yaml" --packager rpm --target "$OUT/"
done

# The SBOM of go.mod: every module dockerlet's build may use, with versions
# and hashes from go.sum; no serial number and no timestamp (both would
# change every run).
tool cyclonedx-gomod mod -json -licenses=false -noserial -notimestamp -output "$OUT/dockerlet-$VERSION.cdx.json" "$PWD"

rm -rf "$STAGE"
# The sums are taken before SHA256SUMS exists: in a pipeline the file the
# last command writes can be created before the first one's glob runs, and
# then lists itself (empty), once in a while.
(cd "$OUT" && rm -f SHA256SUMS && sums=$(LC_ALL=C sha256sum -- * | LC_ALL=C sort -k2) && printf '%s\n' "$sums" >SHA256SUMS)
echo "release $VERSION (packages $PKGVERSION) in $OUT:"
(cd "$OUT" && ls -l)
