# Elevate: the Makefile is the entry point (see README.md).
SHELL := /bin/bash
GO ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
LDFLAGS := -s -w
CDK := tools/cdk/node_modules/.bin/cdk
CDK_ARGS ?=
export CDK_DISABLE_CLI_TELEMETRY := true

# The Python tools the tests use: moto_server and cfn-lint from PATH when
# both are there (CI's case), otherwise these pinned versions installed
# into the project's own virtualenv, .venv/, which then comes first on PATH
# (its python3 also runs the patched moto server).
MOTO_VERSION := 5.2.1
CFN_LINT_VERSION := 1.51.0
VENV := .venv
ifneq ($(shell command -v moto_server >/dev/null 2>&1 && command -v cfn-lint >/dev/null 2>&1 && echo found),found)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
endif

.PHONY: help dev test tools vet test-go test-sim test-infra lint bench fuzz load sim sweep-scale coldstart timetoaccess build synth deploy destroy clean

help: ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

dev: ## run Elevate locally on the embedded store, with two demo tenants
	$(GO) run ./cmd/elevate serve --demo-out .elevate/demo.json

test: vet tools test-go test-sim test-infra ## run every test (what CI runs)

tools: ## moto_server and cfn-lint: from PATH, or pinned versions installed into .venv/
	@if command -v moto_server >/dev/null 2>&1 && command -v cfn-lint >/dev/null 2>&1; then exit 0; fi; \
	if ! command -v python3 >/dev/null 2>&1; then \
	  echo "make test needs moto_server and cfn-lint, which are not on PATH, and Python 3 to install them into $(VENV)/;"; \
	  echo "python3 is not on PATH. Install Python 3 with venv and pip (Debian/Ubuntu: apt-get install python3-venv python3-pip;"; \
	  echo "macOS: brew install python), or install the tools yourself: pip install 'moto[server]==$(MOTO_VERSION)' 'cfn-lint==$(CFN_LINT_VERSION)'"; \
	  exit 1; \
	fi; \
	echo "moto_server or cfn-lint is not on PATH: installing moto $(MOTO_VERSION) and cfn-lint $(CFN_LINT_VERSION) into $(VENV)/"; \
	if [ ! -x $(VENV)/bin/pip ]; then \
	  rm -rf $(VENV); \
	  if ! python3 -m venv $(VENV) >/dev/null 2>&1 || [ ! -x $(VENV)/bin/pip ]; then \
	    rm -rf $(VENV); \
	    echo "python3 cannot make a virtualenv with pip (Debian/Ubuntu: apt-get install python3-venv python3-pip),"; \
	    echo "or install the tools yourself: pip install 'moto[server]==$(MOTO_VERSION)' 'cfn-lint==$(CFN_LINT_VERSION)'"; \
	    exit 1; \
	  fi; \
	fi; \
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'moto[server]==$(MOTO_VERSION)' 'cfn-lint==$(CFN_LINT_VERSION)' || { \
	  echo "pip could not install moto $(MOTO_VERSION) and cfn-lint $(CFN_LINT_VERSION) into $(VENV)/ (is PyPI reachable?)"; exit 1; }

vet: ## gofmt and go vet, for the app and the CDK app
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	cd infra && $(GO) vet -mod=mod ./...

test-go: ## every Go test of the app, with the race detector
	$(GO) test -count=1 -race ./...

test-sim: ## the lifecycle simulator's CI budget with the race detector (docs/simulation.md); SIM_SEED=… pins the random seed
	@set -o pipefail; SIM_BUDGET=ci $(GO) test -count=1 -race -v -run '^TestSimulation$$' ./internal/sim/ | grep -v -e '^=== ' -e '^        --- PASS'

test-infra: ## the CDK app: template assertions, cdk-nag, cfn-lint
	cd infra && $(GO) test -mod=mod -count=1 ./...

lint: vet ## vet and staticcheck
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench: ## benchmarks (not part of make test)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2000x ./internal/e2e/ ./internal/policy/ ./internal/store/memstore/
	$(GO) test -run '^$$' -bench Backtest -benchmem -benchtime 5x ./internal/access/

FUZZTIME ?= 30s
fuzz: ## run every fuzz target for FUZZTIME each (FUZZTIME=5m); make test runs their seed corpora
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' cmd internal | sort); do \
	  for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "== ./$$(dirname $$f) $$t for $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) ./$$(dirname $$f); \
	  done; \
	done

load: ## a reproducible load on an in-process Elevate (LOAD_ARGS="-duration 30s -concurrency 16"), then tenant isolation under a flood (FLOOD_ARGS)
	$(GO) run ./cmd/loadgen $(LOAD_ARGS)
	$(GO) run ./cmd/loadgen -flood 16 -concurrency 4 -quiet-rate 2 -duration 30s $(FLOOD_ARGS)

SEED ?= 0
LIFECYCLES ?= 10000
sim: ## the lifecycle simulator (docs/simulation.md): SEED=… LIFECYCLES=…; EPISODE=… replays one episode with its trace; SIM_ARGS=… more flags
	$(GO) run ./cmd/sim -seed $(SEED) -lifecycles $(LIFECYCLES) $(if $(EPISODE),-episode $(EPISODE)) $(SIM_ARGS)

sweep-scale: ## one full sweep of 1,000 tenants x 10,000 active grants against a 20 TPS Identity Center fake (not part of make test; SWEEP_ARGS="-tenants 200 ...")
	$(GO) run ./cmd/sweepscale $(SWEEP_ARGS)

COLDSTART_ARGS ?=
coldstart: ## cold starts of every function against hello-world: size (arm64), median init and first response (COLDSTART_ARGS="-n 15"); not part of make test
	$(GO) run ./cmd/coldstart $(COLDSTART_ARGS)

TTA_ARGS ?=
timetoaccess: ## approval → active measured on moto's Step Functions engine for Identity Center creation latencies of 0.5 s, 2 s and 10 s (TTA_ARGS="-runs 5"); takes a few minutes, not part of make test
	$(GO) run ./cmd/timetoaccess $(TTA_ARGS)

build: ## Lambda binaries: bin/<function>/bootstrap for provided.al2023 on arm64
	@for f in $(FUNCTIONS); do \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='$(LDFLAGS)' -o bin/$$f/bootstrap ./functions/$$f || exit 1; \
	done
	@echo "built $(words $(FUNCTIONS)) functions in bin/"

$(CDK): tools/cdk/package.json tools/cdk/package-lock.json
	cd tools/cdk && npm ci --no-audit --no-fund
	@touch $@

synth: build $(CDK) ## the CloudFormation template in cdk.out/ (cdk-nag runs); CDK_ARGS="-c key=value ..."
	$(CDK) synth --quiet $(CDK_ARGS)

deploy: build $(CDK) ## cdk deploy (docs/deploy.md)
	@mkdir -p .elevate
	$(CDK) deploy -c requireConfig=true --outputs-file .elevate/stack-outputs.json $(CDK_ARGS)

destroy: $(CDK) ## delete the stack; the table and log groups are retained
	$(CDK) destroy $(CDK_ARGS)

clean:
	rm -rf bin cdk.out .elevate
