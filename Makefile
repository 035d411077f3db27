# Vivarium. `make run` opens the app; `make test` runs every check.
SHELL := /bin/bash
GO ?= go
BIN := build/vivarium
export LANG ?= en_US.UTF-8

.PHONY: all deps build run test check fmt vet lint unit check-darwin testguest desktopguest demo app icon bench bench-quick screenshots fuzz clean

all: build

deps:
	@scripts/deps.sh all

# On macOS the binary is signed ad hoc with bundle/vivarium.entitlements
# right after it is built: without that Apple lets it start no VM.
build:
	@scripts/deps.sh build
	GO=$(GO) sh scripts/build.sh $(BIN)

# Opens the library window. Without a display (a server, CI) it starts a
# virtual one so the window still opens; screenshots come from `make screenshots`.
run: build
	@if [ "$$(uname -s)" = Linux ] && [ -z "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]; then \
		echo "No display: opening Vivarium on a virtual display (Xvfb :77)."; \
		Xvfb :77 -screen 0 1440x900x24 >/dev/null 2>&1 & xvfb=$$!; sleep 1; \
		DISPLAY=:77 $(BIN); status=$$?; kill $$xvfb; exit $$status; \
	else $(BIN); fi

test: deps fmt vet lint unit check-darwin fuzz bench-quick

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Test binaries are built in parallel first; then the packages run one at a
# time, so real QEMU guests never boot side by side on a 2-core machine.
# A short probe boot first settles which accelerator really boots the test
# guest here (a /dev/kvm that opens may still not run it) and says why;
# every real-guest test uses it. The summary lists each skipped test with
# its reason; with VIVARIUM_REQUIRE_QEMU=1 (CI) a real-guest test that
# cannot run fails instead.
unit:
	$(GO) test -count=1 -run '^$$' ./... >/dev/null
	@accel=$$($(GO) run ./internal/testguest/cmd/accelprobe) || { \
		[ "$${VIVARIUM_REQUIRE_QEMU:-}" != 1 ] || exit 1; echo "(the real-guest tests will say why they skip)"; }; \
	export VIVARIUM_QEMU_ACCEL=$${VIVARIUM_QEMU_ACCEL:-$$accel}; \
	set -o pipefail; $(GO) test -count=1 -p 1 -timeout 60m -json ./... | $(GO) run ./internal/tools/testsum

check-darwin:
	$(GO) run ./internal/tools/darwincheck -arch arm64,amd64 ./...

# Brief fuzzing of the parsers a user or another process can feed.
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzParseConfig -fuzztime=8s ./vm
	$(GO) test -run='^$$' -fuzz=FuzzVMName -fuzztime=5s ./vm
	$(GO) test -run='^$$' -fuzz=FuzzSharePath -fuzztime=5s ./vm
	$(GO) test -run='^$$' -fuzz=FuzzSetKey -fuzztime=5s ./vm
	$(GO) test -run='^$$' -fuzz=FuzzServeConn -fuzztime=5s ./vm/control

testguest:
	bash scripts/testguest.sh

# The Debian desktop guest of the clipboard/resize tests (debootstrap; root).
desktopguest:
	bash scripts/desktopguest.sh

# The demo's guest is built from Debian's packages (apt-get): Linux only.
ifeq ($(shell uname -s),Linux)
demo: build testguest
	bash scripts/demo.sh
else
demo:
	@echo "make demo: skipped on $(shell uname -s): its guest is built from Debian's packages with apt-get; on a Mac, create a VM with 'vivarium create' or the library window instead."
endif

app:
	bash scripts/mkapp.sh

icon:
	$(GO) generate ./assets/...

bench:
	bash bench/run.sh

bench-quick:
	@if [ "$$(uname -s)" != Linux ]; then \
		echo "make bench-quick: skipped on $$(uname -s): the benchmarks measure Linux tools (vivbench reads /proc and drives Xvfb and QEMU's window), so they run on Linux only."; \
	elif [ -f bench/run.sh ]; then bash bench/run.sh --quick; fi

screenshots: build
	bash scripts/screenshots.sh

clean:
	rm -rf build
