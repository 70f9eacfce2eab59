# perfgen's build, test and golden targets. `make test` is what CI runs.
SHELL := /bin/bash
GO ?= go
STATICCHECK_VERSION := v0.8.2
# protoc-gen-go must match google.golang.org/protobuf in go.mod: the
# comparison test checks perfgen's message code byte for byte against it.
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1
# The security scan of generated projects: gosec, and govulncheck against an
# offline vulnerability database indexed from a pinned golang.org/x/vulndb.
GOSEC_VERSION := v2.29.0
GOVULNCHECK_VERSION := v1.7.0
# Keep equal to VulnDBVersion in e2e/security_test.go.
VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
# golangci-lint lints every golden project in e2e; keep it equal to
# GOLANGCI_LINT_VERSION in templates/service/Makefile.tmpl (e2e checks).
GOLANGCI_LINT_VERSION := v2.15.0
BIN := $(CURDIR)/bin

.PHONY: build test unit e2e deploycheck golden tools perf clean

build:
	$(GO) build -o $(BIN)/perfgen .

## test: everything CI checks: unit and CLI tests, golden drift, deploy outputs, the end-to-end matrix.
test: unit deploycheck e2e

## unit: perfgen's own tests, golden comparison and protoc comparison included.
unit: tools
	$(GO) vet ./...
	PATH="$(BIN):$$PATH" $(GO) test ./...

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

## tools: the pinned tools the tests run: staticcheck and golangci-lint for generated projects, and
## protoc with the official plugins that perfgen's pure-Go protobuf output is compared against.
tools:
	@mkdir -p $(BIN)
	@test -x $(BIN)/staticcheck || GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@test -x $(BIN)/protoc-gen-go || GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@test -x $(BIN)/protoc-gen-go-grpc || GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	@test -x $(BIN)/gosec || GOBIN=$(BIN) $(GO) install github.com/securego/gosec/v2/cmd/gosec@$(GOSEC_VERSION)
	@test -x $(BIN)/govulncheck || GOBIN=$(BIN) $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
	@test -x $(BIN)/indexdb || GOBIN=$(BIN) $(GO) install golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION)
	@test -x $(BIN)/golangci-lint || GOBIN=$(BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	@command -v protoc >/dev/null || { apt-get update -qq && apt-get install -y -qq protobuf-compiler; }

## perf: the generated service against bare net/http, alternating in one run, pinned to CPUs 0 and 1;
## rewrites docs/performance.md's "Generated service vs bare net/http" section (about 5 minutes).
perf:
	$(GO) run ./internal/perf

clean:
	rm -rf $(BIN)
