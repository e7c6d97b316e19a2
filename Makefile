# admit: `make run` starts the appliance on its built-in demo; `make test` runs
# every test the way CI does, then the short latency gate (admit bench -short
# -gate, under a minute). Both install the Debian packages they need.
GO      ?= go
BIN     := bin/admit
# Releases are tags (git tag v0.x.y); between tags git describe says how far
# past the last one a build is (v0.3.1-4-g1a2b3c4, -dirty with local changes).
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  := $(shell git rev-parse HEAD 2>/dev/null)
DATE    := $(shell git log -1 --format=%cI 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

.PHONY: run run-fresh build test test-go vet fmt-check bench deps-build deps-test clean

run: build
	./$(BIN) serve

# The demo keeps its tickets and scans between runs (its banner says where);
# run-fresh deletes the demo's data first (never a configured data_dir).
run-fresh: build
	./$(BIN) serve -demo-reset

build: deps-build
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/admit

test: deps-test fmt-check vet test-go
	$(GO) run ./cmd/admit bench -short -gate -json none

# Every test runs (-count=1: no cached results, so the browser tests always
# leave their screenshots in artifacts/web/<test>/).
test-go:
	rm -rf artifacts/web
	ADMIT_WEB_ARTIFACTS=$(CURDIR)/artifacts/web $(GO) test -race -count=1 -timeout 12m ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# The full benchmarks (about ten minutes): every workload of admit bench,
# medians of 5 runs, the issue's budgets held (exit 1 when one is broken).
# bench/RESULTS.md has the figures and how to read them.
bench: build
	./$(BIN) bench -gate

deps-build:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

clean:
	rm -rf bin artifacts
