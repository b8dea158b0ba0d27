# dockerlet — see README.md.
GO      ?= go
BIN     ?= bin/dockerlet
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# grpcnotrace: gRPC without golang.org/x/net/trace, whose html/template makes
# the linker keep every exported method of every reachable type: 3.6 MiB
# more executable, all of it resident (docs/performance.md, RSS at 110 pods).
TAGS    := grpcnotrace
# DOCKERLET_ENGINE=29 runs the suites and conformance against a private
# Docker 29 daemon built from the Go module proxy (test/engine/run.sh;
# DOCKERLET_IMAGE_STORE=containerd for its containerd image store); unset,
# against the machine's dockerd.
ENGINE  := test/engine/run.sh

.PHONY: all build build-serve test unit e2e vet lint clean bench bench-go bench-cri conformance conformance-mirror conformance-websocket conformance-cni conformance-systemd

all: build

# Without cgo (nothing needs it: users, DNS and the rest are pure Go), so
# the executable does not map libc: 1.6 MiB less resident.
build:
	CGO_ENABLED=0 $(GO) build -tags $(TAGS) -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/dockerlet

# The CRI server alone (serve, ps, pull, version): without play's
# Kubernetes API packages it maps 5 MiB less of its own executable
# (docs/performance.md, RSS at 110 pods). Same CLI.
build-serve:
	CGO_ENABLED=0 $(GO) build -tags noplay,$(TAGS) -ldflags "$(LDFLAGS)" -o bin/dockerlet-serve ./cmd/dockerlet

# What an operator installs, for linux/amd64 and arm64, in bin/release:
# static binaries (dockerlet, dockerlet-serve) in tarballs with the systemd
# units, .deb and .rpm (nfpm), a CycloneDX SBOM of go.mod and SHA256SUMS;
# reproducible, versioned by git describe (scripts/release.sh).
# release-check builds it twice and compares, checks the sums and installs
# the amd64 .deb here (then purges it).
.PHONY: release release-check
release:
	scripts/release.sh

release-check:
	scripts/release-check.sh

# Every test: unit tests, the integration tests against the real dockerd,
# then the node e2e suite (a real kubelet against dockerlet serve). The
# suites under test/ drive the daemon hard (chaos, the fuzzer, e2e, faults)
# and the fuzzer fails any call over 10 s, so they run one package at a
# time: two at once on a 2-core machine made Docker itself that slow.
test: vet
	$(ENGINE) $(GO) test -count=1 -timeout 30m ./cmd/... ./internal/...
	$(ENGINE) $(GO) test -count=1 -timeout 30m -p 1 ./test/...
	$(MAKE) node-e2e

unit:
	$(GO) test -count=1 -short ./...

# What proves an engine: the e2e suite and the integration tests of the
# engine seam, its stats and the private daemons, against the engine
# DOCKERLET_ENGINE selects (CI runs it on Docker 29; docs/engines.md).
e2e:
	$(ENGINE) $(GO) test -count=1 -timeout 25m ./test/e2e/... ./internal/engine/... ./internal/stats/... ./internal/testutil/...

vet:
	$(GO) vet ./...
	$(GO) vet -tags noplay,$(TAGS) ./cmd/dockerlet

# golangci-lint with .golangci.yml (scripts/lint.sh builds the pinned
# version from the Go module proxy once and caches it).
lint:
	scripts/lint.sh

# CRI conformance: critest v1.37.0 (shared offline harness) against a fresh
# `dockerlet serve`; ends with "critest: N passed, N failed, N skipped".
conformance:
	$(ENGINE) scripts/conformance.sh

conformance-mirror:
	CONFORMANCE_MODE=mirror $(ENGINE) scripts/conformance.sh

# The same over WebSocket (exec, attach, port-forward), and that on a CNI
# bridge (root, containernetworking-plugins).
conformance-websocket:
	CONFORMANCE_WEBSOCKET=1 $(ENGINE) scripts/conformance.sh

conformance-cni:
	CONFORMANCE_NETWORK=cni CONFORMANCE_WEBSOCKET=1 $(ENGINE) scripts/conformance.sh

# Against Docker's systemd cgroup driver: dockerlet, a private dockerd
# (native.cgroupdriver=systemd) and critest in a machine with systemd as
# PID 1 (test/systemd/node.sh; root, systemd and dbus installed).
conformance-systemd:
	CONFORMANCE_CGROUP_DRIVER=systemd scripts/conformance.sh

# CI's bounded form of it: the specs that make and use the pods' and
# containers' cgroups (sandbox and container lifecycles, resource updates,
# stats and metrics, OOM, several containers in a pod), about a third of
# the suite's time. The full run's figures: docs/node-setup.md.
# What CI runs of conformance on a second engine (DOCKERLET_ENGINE=29): the
# specs where engines differ — images and their ids, read-only and image
# mounts, basic container operations, streaming.
ENGINE_CI_FOCUS := Image Manager|Image Identifier Consistency|Image Consistency|Container Mount Readonly|Image Volume|runtime should support basic operations on container|Streaming
.PHONY: conformance-engine-ci
conformance-engine-ci:
	CONFORMANCE_FOCUS='$(ENGINE_CI_FOCUS)' $(ENGINE) scripts/conformance.sh

SYSTEMD_CI_FOCUS := PodSandbox|Container runtime should support basic operations|Container OOM|Multiple Containers
.PHONY: conformance-systemd-ci
conformance-systemd-ci:
	CONFORMANCE_CGROUP_DRIVER=systemd CONFORMANCE_FOCUS='$(SYSTEMD_CI_FOCUS)' scripts/conformance.sh

# The e2e suite and the stats integration tests in such a machine, on
# Docker's systemd driver (E2E_SYSTEMD_RUN selects tests and
# E2E_SYSTEMD_PKGS packages; CI runs the cgroup test alone).
E2E_SYSTEMD_PKGS ?= ./test/e2e/ ./internal/stats/
.PHONY: e2e-systemd
e2e-systemd:
	test/systemd/gotest.sh -count=1 -timeout 25m -run '$(or $(E2E_SYSTEMD_RUN),.)' $(E2E_SYSTEMD_PKGS)

# Pod start-up, List/Status/stats latency and CPU/RSS at 10/50/110 pods, with
# the floor measured in the same run (docs/performance.md).
bench: bench-go bench-cri

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

bench-cri:
	scripts/bench.sh

clean:
	rm -rf bin

# A real kubelet (standalone, static pods) against `dockerlet serve`, through
# the kubelet's own API (test/node, its own Go module). Builds the kubelet
# from the module proxy once and caches it in /var/cache/dockerlet-node
# (KUBELET_VERSION=v1.36.3 for another release; NODE_FEATURE_GATES=Name=false
# for the kubelets' gates). Skips when not root or no Docker, unless
# DOCKERLET_E2E=1. docs/node-setup.md.
.PHONY: node-e2e
node-e2e:
	$(ENGINE) test/node/run.sh

# Soak: `dockerlet serve` with SOAK_PODS pods (CNI networking), a
# kubelet-like poll every second (relist, every status, stats) and a pod
# replaced every 5 s for SOAK_DURATION after a warm-up of a tenth of it;
# RSS, open files and goroutines must end within 10 % of their level after
# warm-up, every answer OK or NotFound, nothing left behind
# (docs/robustness.md). CI runs SOAK_DURATION=3m SOAK_PODS=30.
SOAK_DURATION ?= 60m
SOAK_PODS     ?= 110
.PHONY: soak
soak:
	DOCKERLET_E2E=1 SOAK_DURATION=$(SOAK_DURATION) SOAK_PODS=$(SOAK_PODS) $(GO) test -count=1 -timeout 4h -run '^TestSoak$$' -v ./test/soak/

# The race detector over the CRI, log, network and pod packages, play's commands
# and the e2e suite (needs Docker), and a short kill -9 chaos run (Docker
# and, as root with the CNI plugins, CNI mode) against a race-built server
# (races in its log fail). ~6-8 minutes on a 2-core machine. The dockerd
# restart chaos is not part of it (it restarts a private dockerd; CI runs
# it on its own).
.PHONY: race
# RACE_E2E= leaves the e2e suite out (CI: it is the longest part).
RACE_E2E ?= ./test/e2e/...
race:
	$(ENGINE) $(GO) test -race -count=1 ./internal/cri/... ./internal/crilog/... ./internal/network/... ./internal/node/... ./internal/pod/... ./cmd/dockerlet/... ./internal/playcli/... $(RACE_E2E)
	DOCKERLET_SERVE_RACE=1 CHAOS_LIFECYCLES=24 CHAOS_KILLS=4 $(ENGINE) $(GO) test -count=1 -timeout 20m -run 'TestKill9Chaos$$|TestKill9ChaosCNI$$' ./test/chaos/

# Kubernetes' own node e2e suite (e2e_node.test from k8s.io/kubernetes,
# the specs labelled NodeConformance) against a fresh `dockerlet serve`,
# offline: the suite, its runner and its images' programs are built from
# the module proxy once and cached in /var/cache/dockerlet-node; the images
# are stand-ins served by the local registry on 127.0.0.1:5000. Ends with
# "node-conformance: N passed, N failed, N skipped"; skipped specs and why:
# docs/node-conformance.md. -serial: the [Serial] ones; -containerd: the
# same run against containerd's CRI (the peer figure); -cri-dockerd: against
# a cri-dockerd binary (CRIDOCKERD_BIN=) on the same Docker.
.PHONY: node-conformance node-conformance-serial node-conformance-containerd node-conformance-serial-containerd node-conformance-cri-dockerd
node-conformance:
	$(ENGINE) test/nodeconf/run.sh

node-conformance-serial:
	NODECONF_SERIAL=1 $(ENGINE) test/nodeconf/run.sh

node-conformance-containerd:
	NODECONF_RUNTIME=containerd test/nodeconf/run.sh

node-conformance-serial-containerd:
	NODECONF_SERIAL=1 NODECONF_RUNTIME=containerd test/nodeconf/run.sh

node-conformance-cri-dockerd:
	NODECONF_RUNTIME=cri-dockerd test/nodeconf/run.sh
