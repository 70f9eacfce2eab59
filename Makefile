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
GOSEC_VERSION := v2.30.0
GOVULNCHECK_VERSION := v1.10.0
# Keep equal to VulnDBVersion in e2e/security_test.go.
VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
# kube-score grades the Kubernetes manifests in `make deploycheck`.
KUBE_SCORE_VERSION := v1.20.0
# golangci-lint lints every golden project in e2e; keep it equal to
# GOLANGCI_LINT_VERSION in templates/service/Makefile.tmpl (e2e checks).
GOLANGCI_LINT_VERSION := v2.15.0
BIN := $(CURDIR)/bin
# The pinned Go tools are built once per machine, not once per clone: each is
# installed into its own directory under TOOLS_CACHE, named after the tool,
# its version and the Go release that built it, and bin/ links to it. A fresh
# clone (every CI run is one) links the copies already built; a moved pin or
# a new Go installs into a new directory. `make clean` keeps the cache;
# `rm -rf $(TOOLS_CACHE)` empties it.
TOOLS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/perfgen/tools
GO_RELEASE := $(shell $(GO) env GOVERSION)

# tool NAME,PACKAGE,VERSION: link bin/NAME to NAME built from PACKAGE@VERSION
# in the tool cache, installing it there first if it is missing. The install
# goes to a temporary directory renamed into place, so an interrupted or
# concurrent install never leaves a half-written tool where another clone
# looks for it.
define tool
@d='$(TOOLS_CACHE)/$(1)@$(3)-$(GO_RELEASE)'; \
	if ! test -x "$$d/$(1)"; then \
		mkdir -p '$(TOOLS_CACHE)' && tmp=$$(mktemp -d "$$d.tmp.XXXXXX") && \
		echo "installing $(2)@$(3) into $$d" && \
		{ GOBIN="$$tmp" $(GO) install $(2)@$(3) || { rm -rf "$$tmp"; exit 1; }; } && \
		{ mv -T "$$tmp" "$$d" 2>/dev/null || rm -rf "$$tmp"; }; \
	fi && test -x "$$d/$(1)" && mkdir -p '$(BIN)' && ln -sfn "$$d/$(1)" '$(BIN)/$(1)'
endef

.PHONY: build test test-short unit e2e deploycheck openapicheck golden tools perf clean

build:
	$(GO) build -o $(BIN)/perfgen .

## test: everything CI checks: unit and CLI tests, golden drift, deploy outputs, the end-to-end matrix.
test: unit deploycheck openapicheck e2e

## test-short: the inner loop to run before pushing: go vet, the unit tests, the CLI scripts and
## golden drift, with whatever tools are already in bin/ or on PATH (tests needing a missing one
## skip and say so). No e2e, no deploy checks, nothing installed, no apt-get.
test-short:
	$(GO) vet ./...
	PATH="$(BIN):$$PATH" $(GO) test -short ./...

## unit: perfgen's own tests, golden comparison and protoc comparison included.
unit: tools
	$(GO) vet ./...
	PATH="$(BIN):$$PATH" $(GO) test ./...

## deploycheck: check Dockerfiles, Kubernetes, compose, sysctl and systemd outputs with real parsers
## and official types (its own module, so their dependencies stay out of perfgen's go.mod).
deploycheck:
	@command -v shellcheck >/dev/null || { apt-get update -qq && apt-get install -y -qq shellcheck; }
	$(call tool,kube-score,github.com/zegl/kube-score/cmd/kube-score,$(KUBE_SCORE_VERSION))
	cd internal/deploycheck && $(GO) vet ./... && PATH="$(BIN):$$PATH" $(GO) test -count=1 ./...

## openapicheck: validate the OpenAPI documents perfgen proto writes with libopenapi-validator
## (its own module, so the validator's dependencies stay out of perfgen's go.mod).
openapicheck:
	cd internal/openapicheck && $(GO) vet ./... && $(GO) test -count=1 ./...

## golden: rewrite the golden trees from the current templates (read the diff after).
golden:
	$(GO) test ./generator -run Golden -update

## e2e: generate every golden case and option combination, then build, vet and test them.
e2e: tools
	PERFGEN_E2E=1 PATH="$(BIN):$$PATH" $(GO) test ./e2e -count=1 -timeout 40m -v

## tools: the pinned tools the tests run: staticcheck, golangci-lint, gosec and govulncheck (with
## indexdb for its offline database) for generated projects, and protoc with the official plugins
## that perfgen's pure-Go protobuf output is compared against, and promtool. The Go tools come from
## the machine's tool cache (TOOLS_CACHE above), built there once per pin.
tools:
	$(call tool,staticcheck,honnef.co/go/tools/cmd/staticcheck,$(STATICCHECK_VERSION))
	$(call tool,protoc-gen-go,google.golang.org/protobuf/cmd/protoc-gen-go,$(PROTOC_GEN_GO_VERSION))
	$(call tool,protoc-gen-go-grpc,google.golang.org/grpc/cmd/protoc-gen-go-grpc,$(PROTOC_GEN_GO_GRPC_VERSION))
	$(call tool,gosec,github.com/securego/gosec/v2/cmd/gosec,$(GOSEC_VERSION))
	$(call tool,govulncheck,golang.org/x/vuln/cmd/govulncheck,$(GOVULNCHECK_VERSION))
	$(call tool,indexdb,golang.org/x/vulndb/cmd/indexdb,$(VULNDB_VERSION))
	$(call tool,golangci-lint,github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))
	@command -v protoc >/dev/null || { apt-get update -qq && apt-get install -y -qq protobuf-compiler; }
	@# promtool checks and unit-tests the generated alert rules: Debian 12's prometheus 2.42 package
	@# (a prebuilt binary; go install of cmd/promtool compiles the whole Prometheus server).
	@command -v promtool >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus; }

## perf: the generated service against bare net/http and grpc-go, alternating in one run, pinned to
## CPUs 0 and 1, driven by wrk, h2load and cmd/loadgen; rewrites docs/performance.md's "Generated
## service vs bare servers" section (about 12 minutes).
perf:
	@command -v wrk >/dev/null && command -v h2load >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk nghttp2-client; }
	$(GO) run ./internal/perf

clean:
	rm -rf $(BIN)
