#!/usr/bin/env bash
# Installs the peers the benchmarks compare against, idempotently: Debian packages, then the npm
# ones pinned by lock files under bench/peers/ into CACHE ($1, default build/bench-peers).
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${1:-build/bench-peers}
packages=(bubblewrap runc crun hyperfine
  # bench/gateway_bench.py: the load generator and the plain Python servers
  wrk python3-uvicorn python3-uvloop python3-httptools python3-gunicorn)
# Node's http module and serverless-offline run on Debian's node (machines of this kind ship it).
[[ -x /usr/bin/node ]] || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  echo "install-peers: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi
bench/peers/serverless-offline/install.sh "$cache" >/dev/null
