# QeetMart: `make run` starts the whole platform, `make test` runs every test.
SHELL := bash
GO    ?= go
BIN   := bin
PROGRAMS := ./gateway ./services/auth ./services/user ./services/product ./services/inventory ./tools/stack

.PHONY: observe observe-deps browser-deps screenshots build dapr dapr-cli deps run run-cli verify-dapr-cli stop test vet unit fuzz fuzz-short integration bench bench-go bench-gateway bench-auth bench-users bench-product bench-sidecars chaos clean k8s verify-k8s verify-k8s-server verify-compose images build-compose-env dashboards

## build: every program into bin/
build:
	$(GO) build -o $(BIN)/ $(PROGRAMS)

## dapr: the pinned daprd and sentry into bin/ (only if missing or another version)
dapr:
	scripts/build-dapr.sh

## dapr-cli: also placement and the Dapr CLI v1.12.0 into bin/ (for run-cli)
dapr-cli:
	scripts/build-dapr.sh cli

## run-cli: the whole platform through the Dapr CLI (`dapr run -f` over dapr/dapr.yaml), until Ctrl-C
run-cli: build dapr-cli deps
	@trap 'scripts/deps.sh stop' EXIT; $(BIN)/stack cli

## verify-dapr-cli: run-cli until the gateway reports every service healthy, call one API, stop
# (the CLI can hang when a daprd exits fatally: always under a timeout)
verify-dapr-cli: build dapr-cli deps
	@trap 'scripts/deps.sh stop' EXIT; timeout -k 10 600 $(BIN)/stack verify-cli

## deps: PostgreSQL and Redis answering (installs/starts them if needed), and
## the stack's fixed ports kept out of the ephemeral range (as root)
deps:
	scripts/deps.sh
	@scripts/reserve-ports.sh

## run: the whole platform on this machine, until Ctrl-C
# (private PostgreSQL/Redis instances that deps started are stopped on exit)
run: build dapr deps
	@trap 'scripts/deps.sh stop' EXIT; $(BIN)/stack up

## stop: stop a stack started by `make run` in another shell
stop:
	$(GO) run ./tools/stack stop

## test: vet, unit tests with -race, a few seconds of each fuzz target,
## the Kubernetes (schemas, injector, a real API server) and Compose checks, integration tests against real
## sidecars, then the platform once through the Dapr CLI
test: vet unit fuzz-short verify-k8s verify-k8s-server verify-compose integration chaos-short verify-dapr-cli

## k8s: render components/ and dapr/ into k8s/base/dapr and compose/dapr (commit the result)
k8s:
	$(GO) run ./tools/stack render

## verify-k8s: render k8s/ overlays; kubeconform against generated schemas; Dapr's injector on each Deployment
verify-k8s:
	scripts/verify-k8s.sh

## verify-k8s-server: a real kube-apiserver dry-runs every overlay (builds it into bin/ the first time, ~3.5 min here)
verify-k8s-server:
	scripts/verify-k8s-server.sh

## verify-compose: docker-compose config and a check of every app, sidecar and mount
verify-compose:
	scripts/verify-compose.sh

IMAGE_TAG ?= 0.1.0
## images: one small non-root image per program (needs Docker)
images:
	@for app in gateway auth user product inventory; do \
	  docker build --build-arg APP=$$app -t qeetmart/$$app:$(IMAGE_TAG) . || exit 1; \
	done

## build-compose-env: compose/.env (tokens) and compose/.secrets (Sentry's CA), once; never committed
build-compose-env:
	$(GO) run ./tools/stack compose-env

## dashboards: Dapr's three Grafana dashboards from the pinned dapr module into observe/dashboards, beside
## QeetMart's (for Compose's observability profile and k8s/observability)
dashboards:
	scripts/dashboards.sh

vet:
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

unit:
	$(GO) test -race -short -count=1 ./...

# The fuzz targets: the gateway's path canonicaliser, the JWT verifier's
# input parsing, and the one JSON decode helper.
FUZZ_TARGETS := ./gateway/routing:FuzzCanonical ./gateway/identity:FuzzVerify ./internal/platform/web:FuzzDecode
# Budgets are execution counts (Nx), not durations: with a duration, Go
# 1.26's fuzz coordinator can fail a run with a bare "context deadline
# exceeded" and no crasher at the end of the window on a loaded machine
# (golang/go#75804, fixed in Go 1.27; seen here in make test).
FUZZTIME ?= 1000000x

## fuzz: each fuzz target for FUZZTIME executions (default 1000000x, minutes; a crasher lands in testdata/fuzz)
fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  echo "fuzz $${t##*:} ($${t%%:*}) for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$${t##*:}$$" -fuzztime $(FUZZTIME) "$${t%%:*}" || exit 1; \
	done

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=10000x

integration: dapr deps browser-deps observe-deps
	$(GO) test -race -count=1 -timeout 20m ./tests/...

## observe: Prometheus and Jaeger over a running `make run` (start it in another shell), with the QeetMart console
observe: observe-deps
	$(GO) run ./tools/stack observe

## observe-deps: Prometheus (Debian's package) and Jaeger v2 (built into bin/) for make observe and its tests
observe-deps:
	scripts/deps.sh observe
	scripts/build-jaeger.sh

## browser-deps: Chromium and playwright-core for the browser tests (tests/browser)
browser-deps:
	scripts/deps.sh browser

## screenshots: the browser tests, keeping their screenshots in docs/screenshots
screenshots: build dapr deps browser-deps observe-deps
	SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run 'TestDocsShowWhatTheGatewayServes|TestObserveShowsTheStack$$' ./tests/integration/

## chaos: a mixed workload through the gateway while a seeded schedule of faults hits the stack, then the
## checks (SEED, default 1; DURATION, default 10m); report in docs/bench/chaos.md
chaos: build dapr deps
	$(GO) run ./tools/chaos -seed $(or $(SEED),1) -duration $(or $(DURATION),10m) -out docs/bench/chaos.md

## chaos-short: one minute of chaos (seed 1; every kind of fault at least once), part of `make test`
chaos-short: build dapr deps
	$(GO) run ./tools/chaos -seed 1 -duration 1m -fault-every 5s -out $(or $(TMPDIR),/tmp)/qeetmart-chaos-short.md

## bench: every benchmark (see docs/benchmarks.md)
bench: bench-go bench-gateway bench-auth bench-users bench-product bench-inventory bench-sidecars

## bench-go: Go micro-benchmarks (argon2id verify: the CPU of one login)
bench-go:
	$(GO) test -run '^$$' -bench . -benchtime 50x ./services/... ./gateway/... ./internal/...

## bench-gateway: a service endpoint direct, via its sidecar, via the gateway
bench-gateway: build dapr deps
	$(GO) build -o $(BIN)/ ./internal/testenv/echoapp
	$(GO) run ./tools/bench gateway -out docs/bench/gateway.md

## bench-auth: register, login and refresh through the gateway
bench-auth: build dapr deps
	$(GO) run ./tools/bench auth -out docs/bench/auth.md

## bench-users: the admin listing over 100,000 profiles through the gateway
bench-users: build dapr deps
	$(GO) run ./tools/bench users -out docs/bench/users.md

## bench-product: catalog reads over 100,000 products, at the service and through the gateway
bench-product: build dapr deps
	$(GO) run ./tools/bench product -out docs/bench/product.md

## bench-sidecars: each daprd build's size and every sidecar's memory, idle and loaded (DAPRD_BUILDS: binaries to compare)
bench-sidecars: build dapr deps
	$(GO) run ./tools/bench sidecars -daprd $(or $(DAPRD_BUILDS),bin/daprd) -out docs/bench/sidecars.md

## bench-inventory: reservations/s on one hot product and over 1,000, at the service and through the gateway
bench-inventory: build dapr deps
	$(GO) run ./tools/bench inventory -out docs/bench/inventory.md

clean:
	rm -rf $(BIN)/gateway $(BIN)/auth $(BIN)/user $(BIN)/product $(BIN)/inventory $(BIN)/stack $(BIN)/echoapp .run
