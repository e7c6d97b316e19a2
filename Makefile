# admit: `make run` starts the appliance on its built-in demo; `make test` runs
# every test the way CI does. Both install the Debian packages they need.
GO      ?= go
BIN     := bin/admit
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run build test test-go vet fmt-check bench deps-build deps-test clean

run: build
	./$(BIN) serve

build: deps-build
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/admit

test: deps-test fmt-check vet test-go

test-go:
	$(GO) test -race -timeout 12m ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# The full benchmarks (minutes). See bench/RESULTS.md for the figures.
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 2s ./index/...

deps-build:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

clean:
	rm -rf bin
