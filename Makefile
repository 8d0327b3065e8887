# Elevate: the Makefile is the entry point (see README.md).
SHELL := /bin/bash
GO ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
LDFLAGS := -s -w
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: help dev test test-go vet lint bench load build clean

help: ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

dev: ## run Elevate locally on the embedded store, with two demo tenants
	$(GO) run ./cmd/elevate serve --demo-out .elevate/demo.json

test: vet test-go ## run every test (what CI runs)

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

test-go:
	$(GO) test -count=1 -race ./...

lint: vet ## vet and staticcheck
	$(GO) run honnef.co/go/tools/cmd/staticcheck@2025.1.1 ./...

bench: ## benchmarks (not part of make test)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2000x ./internal/api/... ./internal/policy/... ./internal/store/...

load: ## a reproducible load on an in-process Elevate (LOAD_ARGS="-duration 30s -concurrency 16")
	$(GO) run ./cmd/loadgen $(LOAD_ARGS)

build: ## Lambda binaries: bin/<function>/bootstrap for provided.al2023 on arm64
	@for f in $(FUNCTIONS); do \
	  echo "build $$f"; \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='$(LDFLAGS)' -o bin/$$f/bootstrap ./functions/$$f || exit 1; \
	done

clean:
	rm -rf bin cdk.out .elevate
