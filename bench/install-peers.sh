#!/usr/bin/env bash
# Installs the peers the benchmarks compare against (Debian packages), idempotently.
set -euo pipefail
packages=(bubblewrap runc crun hyperfine)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
sudo=()
[[ $(id -u) -ne 0 ]] && sudo=(sudo)
echo "install-peers: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
