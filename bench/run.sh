#!/usr/bin/env bash
# Runs Gust's benchmarks against the release build in $1 (default build/release), installing the
# peers they compare against first. $2 picks one scenario (default all):
#   invoke      bench/invoke_latency.py, Python then Node (cold and warm invocations over HTTP)
#   cold-peers  bench/cold_start_peers.py (cold start against bwrap and runc)
#   gateway     bench/gateway_bench.py (a handler behind an API gateway route against uvicorn,
#               gunicorn, Node's http module and serverless-offline)
#   async       bench/async_bench.py (durable Event intake, drain to a no-op Python handler,
#               latency from the 202 to the handler's start)
# e.g. `bench/run.sh build/release gateway`, or `make bench BENCH=gateway`. Every load loop is
# bounded in count and time and targets loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
scenario=${2:-all}
case $scenario in
  all | invoke | cold-peers | gateway | async) ;;
  *) echo "run.sh: unknown scenario '$scenario' (all, invoke, cold-peers, gateway, async)" >&2; exit 2 ;;
esac
bench/install-peers.sh "$build/bench-peers"
export GUST_BIN="$build/src/exe/gust"
if [[ $scenario == all || $scenario == invoke ]]; then
  /usr/bin/python3 bench/invoke_latency.py
  /usr/bin/python3 bench/invoke_latency.py --runtime node
fi
if [[ $scenario == all || $scenario == cold-peers ]]; then
  /usr/bin/python3 bench/cold_start_peers.py
fi
if [[ $scenario == all || $scenario == gateway ]]; then
  /usr/bin/python3 bench/gateway_bench.py --peers-cache "$build/bench-peers" \
    --engine-bench "$build/bench/gust_engine_bench"
fi
if [[ $scenario == all || $scenario == async ]]; then
  /usr/bin/python3 bench/async_bench.py --gust "$GUST_BIN"
fi
