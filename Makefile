# perfgen's build, test and golden targets. `make test` is what CI runs.
SHELL := /bin/bash
GO ?= go
STATICCHECK_VERSION := v0.8.2
BIN := $(CURDIR)/bin

.PHONY: build test unit e2e deploycheck golden tools clean

build:
	$(GO) build -o $(BIN)/perfgen .

## test: everything CI checks: unit and CLI tests, golden drift, deploy outputs, the end-to-end matrix.
test: unit deploycheck e2e

## unit: perfgen's own tests, golden comparison included.
unit:
	$(GO) vet ./...
	$(GO) test ./...

## deploycheck: check Dockerfiles, Kubernetes, compose, sysctl and systemd outputs with real parsers
## and official types (its own module, so their dependencies stay out of perfgen's go.mod).
deploycheck:
	@command -v shellcheck >/dev/null || { apt-get update -qq && apt-get install -y -qq shellcheck; }
	cd internal/deploycheck && $(GO) vet ./... && $(GO) test -count=1 ./...

## golden: rewrite the golden trees from the current templates (read the diff after).
golden:
	$(GO) test ./generator -run Golden -update

## e2e: generate every golden case and option combination, then build, vet and test them.
e2e: tools
	PERFGEN_E2E=1 PATH="$(BIN):$$PATH" $(GO) test ./e2e -count=1 -timeout 40m -v

## tools: the pinned tools the e2e test runs on generated projects.
tools:
	@mkdir -p $(BIN)
	@test -x $(BIN)/staticcheck || GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

clean:
	rm -rf $(BIN)
