#!/usr/bin/env bash
# make lint: golangci-lint (the version below) over the module with
# .golangci.yml, as the project builds it, and over the serve-only build.
# The linter is built once from the Go module proxy with the go command
# (`go install …@VERSION`, its own module) and cached; a cached binary is
# reused.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=v2.15.0
cache=${DOCKERLET_LINT_CACHE:-/var/cache/dockerlet-lint}
bin="$cache/golangci-lint-$VERSION"
if ! [[ -x $bin ]] || ! "$bin" version >/dev/null 2>&1; then
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	echo "lint: building golangci-lint $VERSION (once; cached in $cache)" >&2
	GOFLAGS= GOBIN="$tmp" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$VERSION"
	mv "$tmp/golangci-lint" "$bin"
fi
# LINT_BUILD_ONLY=1: only build (CI builds it in the background early).
[[ -z ${LINT_BUILD_ONLY:-} ]] || exit 0
"$bin" run ./...
"$bin" run --build-tags noplay,grpcnotrace ./cmd/dockerlet/...
