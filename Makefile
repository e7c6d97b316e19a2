# admit: `make run` starts the appliance on its built-in demo; `make test` runs
# every test the way CI does, then the short latency gate (admit bench -short
# -gate, under a minute). Both install the Debian packages they need.
# `make install` and `make deb` put it on a machine (docs/install.md).
GO      ?= go
BIN     := bin/admit
# Releases are tags (git tag v0.x.y); between tags git describe says how far
# past the last one a build is (v0.3.1-4-g1a2b3c4, -dirty with local changes).
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  := $(shell git rev-parse HEAD 2>/dev/null)
DATE    := $(shell git log -1 --format=%cI 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

.PHONY: run run-fresh venue build install uninstall deb test test-go vet fmt-check bench deps-build deps-test clean

run: build
	./$(BIN) serve

# The demo keeps its tickets and scans between runs (its banner says where);
# run-fresh deletes the demo's data first (never a configured data_dir).
run-fresh: build
	./$(BIN) serve -demo-reset

# make venue: a venue on this machine — three hub nodes, three appliances
# (north, south, door) with a simulated lane each, 50 tickets imported once;
# it prints the URLs and tokens (README.md, "A venue on one machine").
# Ctrl-C stops it.
venue: build
	scripts/venue.sh

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

# make install: the binary, admit-setup, the systemd unit, the udev rules,
# the docs and the monitoring files under PREFIX, and the configuration
# skeleton as $(SYSCONFDIR)/admit/admit.toml unless one is there. DESTDIR
# stages it all under another root (packagers, tests). It installs the
# binary `make build` made and builds nothing: sudo's PATH rarely has Go.
# Then, as root, once: admit-setup (the admit user, /var/lib/admit, the
# token files).
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
DOCDIR     ?= $(PREFIX)/share/doc/admit
SHAREDIR   ?= $(PREFIX)/share/admit
UNITDIR    ?= $(PREFIX)/lib/systemd/system
UDEVDIR    ?= $(PREFIX)/lib/udev/rules.d
SYSCONFDIR ?= /etc
DESTDIR    ?=

install:
	@test -x $(BIN) || { echo "no $(BIN): run make build first (as yourself)" >&2; exit 1; }
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(UDEVDIR) \
		$(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(SHAREDIR)/monitoring $(DESTDIR)$(SYSCONFDIR)/admit
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/admit
	install -m 0755 deploy/admit-setup $(DESTDIR)$(SBINDIR)/admit-setup
	sed -e 's|/usr/bin/admit|$(BINDIR)/admit|g' -e 's|/usr/share/doc/admit|$(DOCDIR)|g' \
		-e 's|/etc/admit/|$(SYSCONFDIR)/admit/|g' deploy/admit.service > $(DESTDIR)$(UNITDIR)/admit.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/admit.service
	install -m 0644 deploy/udev/70-admit.rules $(DESTDIR)$(UDEVDIR)/70-admit.rules
	install -m 0644 README.md docs/*.md api/openapi.yaml $(DESTDIR)$(DOCDIR)/
	install -m 0644 deploy/admit.example.toml $(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 deploy/monitoring/* $(DESTDIR)$(SHAREDIR)/monitoring/
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/admit/admit.toml ]; then \
		echo "kept $(DESTDIR)$(SYSCONFDIR)/admit/admit.toml (the skeleton is $(DOCDIR)/examples/admit.toml)"; \
	else \
		install -m 0640 deploy/admit.toml $(DESTDIR)$(SYSCONFDIR)/admit/admit.toml; \
	fi
	install -m 0644 deploy/admit.toml $(DESTDIR)$(DOCDIR)/examples/admit.toml
	@echo "installed; now, as root: $(SBINDIR)/admit-setup (user, data directory, token files)"

# uninstall removes what install put under PREFIX; the configuration, the
# token files and the data directory stay.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/admit $(DESTDIR)$(SBINDIR)/admit-setup $(DESTDIR)$(UNITDIR)/admit.service \
		$(DESTDIR)$(UDEVDIR)/70-admit.rules
	rm -rf $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SHAREDIR)

# make deb: bin/admit_VERSION_ARCH.deb, built by nfpm (deploy/nfpm.yaml; its
# version is pinned in deploy/tools/go.mod) from the binary make build links.
DEB_VERSION = $(shell scripts/debversion.sh $(VERSION))
DEB_ARCH    = $(shell $(GO) env GOARCH)
DEB_LIBC    = $(lastword $(shell getconf GNU_LIBC_VERSION))
DEB         ?= bin/admit_$(DEB_VERSION)_$(DEB_ARCH).deb
NFPM        := bin/nfpm

$(NFPM): deploy/tools/go.mod
	$(GO) build -C deploy/tools -o $(CURDIR)/$(NFPM) github.com/goreleaser/nfpm/v2/cmd/nfpm

deb: build $(NFPM)
	ADMIT_DEB_BIN=$(BIN) ADMIT_DEB_VERSION=$(DEB_VERSION) ADMIT_DEB_ARCH=$(DEB_ARCH) ADMIT_DEB_LIBC=$(DEB_LIBC) $(NFPM) package -f deploy/nfpm.yaml -p deb -t $(DEB)
