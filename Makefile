# nearplay: every command a developer or CI needs. `make run` and `make test`
# work on a fresh Debian/Ubuntu machine (they call `deps` first).
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/nearplay-target
CARGO ?= cargo
DEMO := $(CARGO_TARGET_DIR)/debug/nearplay-demo
# Libraries Bevy links against, and what runs it without a screen.
BUILD_PACKAGES := pkg-config libasound2-dev libudev-dev libwayland-dev libxkbcommon-dev libx11-dev
RUN_PACKAGES := xvfb xauth mesa-vulkan-drivers iproute2 xdotool imagemagick
ARGS ?=
# Every optional part is checked and tested: WebRTC, the rendezvous client and
# server, the facade's Bevy plugin (and its examples).
FEATURES := --features webrtc,rendezvous,nearplay_matchmaker/server,bevy

.PHONY: deps run test check fmt clippy unit fuzz-build fuzz bench build host join lobbies screenshot rendezvous

## deps: install the system packages Bevy needs (apt-get as root, else print the command)
deps:
	@missing=$$(for p in $(BUILD_PACKAGES) $(RUN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: all system packages present"; \
	elif [ "$$(id -u)" = 0 ]; then echo "deps: installing" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "deps: missing packages; run: sudo apt-get install -y" $$missing; exit 1; fi

build: deps
	$(CARGO) build --workspace

## run: build and start the demo game in a window (main menu)
run: deps
	$(CARGO) run -p nearplay_demo -- $(ARGS)

## test: every check: formatting, clippy -D warnings, fuzz targets build, all tests
test: deps fmt clippy fuzz-build unit

fmt:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets $(FEATURES) -- -D warnings

# The test build compiles every bin and example too (the multi-process tests
# run target/debug/nearplay-demo and nearplay-rendezvous from it), so no
# separate `cargo build` here: that was a second, dev-profile build of the
# whole graph. Test settings are in .config/nextest.toml.
#
# rustdoc compiles the doc tests on every run (15-35 s with nothing else to
# build), so they run while nextest runs the other tests. Cargo holds the
# target dir's lock until `cargo test --doc` ends, so nextest builds and
# lists the test binaries first, then runs that list without calling cargo
# again; the doc tests' output follows the suite's. They compile at a lower
# CPU priority (`nice`), so the suite's timed matches keep their share.
unit:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  meta=$$(mktemp -d) || exit 1; trap 'rm -rf "$$meta"' EXIT; \
	  $(CARGO) nextest list --workspace $(FEATURES) --list-type binaries-only \
	    --message-format json > "$$meta/binaries.json" || exit 1; \
	  nice -n 10 $(CARGO) test --workspace --doc $(FEATURES) > "$$meta/doctests.log" 2>&1 & doc=$$!; \
	  $(CARGO) nextest run --binaries-metadata "$$meta/binaries.json" --no-fail-fast; tests=$$?; \
	  wait $$doc; docs=$$?; cat "$$meta/doctests.log"; \
	  [ $$docs -eq 0 ] || echo "unit: doc tests FAILED (above)"; \
	  [ $$tests -eq 0 ] && [ $$docs -eq 0 ]; \
	else $(CARGO) test --workspace --doc $(FEATURES) && \
	  $(CARGO) test --workspace --no-fail-fast $(FEATURES); fi

## fuzz-build: the cargo-fuzz targets compile (stable toolchain, see docs/pitfalls.md)
fuzz-build:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	@for d in netcode matchmaker; do if [ -d $$d/fuzz ]; then \
	  (cd $$d && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz build --dev --target-dir $(CARGO_TARGET_DIR)/fuzz) || exit 1; fi; done

## fuzz: a short run of every fuzz target (FUZZ_SECONDS each)
FUZZ_SECONDS ?= 20
fuzz: fuzz-build
	@for d in netcode matchmaker; do if [ -d $$d/fuzz ]; then \
	  for t in $$(cd $$d && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz list); do \
	    (cd $$d && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --dev --target-dir $(CARGO_TARGET_DIR)/fuzz $$t -- -max_total_time=$(FUZZ_SECONDS)) || exit 1; \
	  done; fi; done

## bench: timing figures, printed as ratios against anchors measured in the same run
bench: deps
	$(CARGO) bench -p nearplay_netcode
	$(CARGO) bench -p nearplay_matchmaker
	$(CARGO) bench --profile dev -p nearplay_demo
	$(CARGO) bench -p nearplay_matchmaker --features server,rendezvous --bench rendezvous
	$(CARGO) bench -p nearplay_matchmaker --features rendezvous --bench play_poll
	$(CARGO) bench -p nearplay_matchmaker --features server,rendezvous --bench spectate_webrtc

## rendezvous: a local rendezvous server for online play (friends meet by room code)
rendezvous:
	$(CARGO) run -p nearplay_matchmaker --features server --bin nearplay-rendezvous -- --listen 127.0.0.1:3536 $(ARGS)

## host / join / lobbies: the demo's CLI (pass more flags with ARGS="...")
host: deps
	$(CARGO) run -p nearplay_demo -- host $(ARGS)
join: deps
	$(CARGO) run -p nearplay_demo -- join $(ARGS)
lobbies: deps
	$(CARGO) run -p nearplay_demo -- lobbies $(ARGS)

## screenshot: the game under Xvfb, screenshots of each screen into screenshots/
screenshot: deps
	$(CARGO) build -p nearplay_demo
	./scripts/screenshots.sh $(DEMO) screenshots
