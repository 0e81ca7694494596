# Gust: the two commands that matter are `make run` and `make test`.
# Everything is CMake presets underneath (see CMakePresets.json).

SHELL := /bin/bash
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= ./.gust

.PHONY: all deps configure-dev configure-release build build-release run test bench format format-check lint fuzz clean

all: build

deps:
	@tools/install-deps.sh

configure-dev: deps
	@cmake --preset dev >/dev/null

configure-release: deps
	@cmake --preset release >/dev/null

build: configure-dev
	@cmake --build --preset dev -j $(JOBS)

build-release: configure-release
	@cmake --build --preset release -j $(JOBS) --target gust

run: build-release
	@./build/release/src/exe/gust serve --listen $(LISTEN) --data-dir $(DATA_DIR)

test: build
	@ctest --preset dev -j $(JOBS)

# `make bench` runs every scenario; `make bench BENCH=gateway` one (see bench/run.sh).
BENCH ?= all
bench: configure-release
	@cmake --build --preset release -j $(JOBS) --target gust gust_engine_bench
	@bench/run.sh build/release $(BENCH)

format: deps
	@tools/format.sh

format-check: deps
	@tools/format.sh --check

lint: configure-dev
	@tools/lint.sh build/dev

fuzz: deps
	@cmake --preset fuzz >/dev/null && cmake --build --preset fuzz -j $(JOBS)

clean:
	@rm -rf build
