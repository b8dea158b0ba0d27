# dockerlet — see README.md.
GO      ?= go
BIN     ?= bin/dockerlet
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build test unit e2e vet clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/dockerlet

# Every test: unit tests and the integration tests against the real dockerd.
test: vet
	$(GO) test -count=1 -timeout 30m ./...

unit:
	$(GO) test -count=1 -short ./...

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
