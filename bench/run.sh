#!/usr/bin/env bash
# Runs Gust's benchmarks against the release build in $1 (default build/release), installing the
# peers they compare against first. Every load loop is bounded in count and time and targets
# loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
bench/install-peers.sh
export GUST_BIN="$build/src/exe/gust"
/usr/bin/python3 bench/invoke_latency.py
/usr/bin/python3 bench/invoke_latency.py --runtime node
/usr/bin/python3 bench/cold_start_peers.py
