#!/usr/bin/env bash
# Installs serverless@3 + serverless-offline@13 as pinned by package-lock.json (`npm ci`, no
# install scripts) into CACHE/serverless-offline-<hash of the lock file>, with serverless.yml and
# the bench handlers beside it, and prints that directory. Idempotent: a finished install is
# reused (only the small files are copied again). Usage: install.sh CACHE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:?usage: install.sh CACHE}
key=$(sha256sum "$here/package-lock.json" | cut -c1-16)
dir="$cache/serverless-offline-$key"
if [[ ! -e "$dir/.installed" ]]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$here/package.json" "$here/package-lock.json" "$dir/"
  echo "install-peers: npm ci serverless@3 serverless-offline@13 into $dir" >&2
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  touch "$dir/.installed"
fi
cp "$here/serverless.yml" "$here/../hi-python/handler.py" "$here/../hi-node/handler.js" "$dir/"
echo "$dir"
