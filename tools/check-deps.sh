#!/usr/bin/env bash
# Enforces the direction of dependencies between components (docs/ARCHITECTURE.md): each
# component may include only the components listed for it, and only src/http may include
# Boost.Asio or Boost.Beast.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
  [common]="common"
  [auth]="common auth"
  [apigw]="common apigw"
  [store]="common store"
  [sandbox]="common sandbox"
  [runtime]="common sandbox runtime"
  [engine]="common runtime sandbox engine"
  [control]="common apigw store control"
  [events]="common store events"
  [http]="common http"
  [gateway]="common http store control engine auth apigw events gateway"
  [cli]="common http control cli"
  [exe]="common auth apigw store sandbox runtime engine control events http gateway cli exe"
)

status=0
for component in "${!allowed[@]}"; do
  [[ -d src/$component ]] || continue
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include "([^/"]+)\/.*/\1/' <<<"$line")
    if [[ " ${allowed[$component]} " != *" $inc "* ]]; then
      echo "dependency violation: $file includes $inc/ (src/$component may use: ${allowed[$component]})"
      status=1
    fi
  done < <(grep -rnE '^#include "[a-z_]+/' "src/$component" --include='*.h' --include='*.cc' || true)
  if [[ $component != http ]]; then
    if grep -rnE '#include <boost/(asio|beast)' "src/$component" >/dev/null 2>&1; then
      grep -rnE '#include <boost/(asio|beast)' "src/$component"
      echo "dependency violation: Boost.Asio/Beast outside src/http"
      status=1
    fi
  fi
done
[[ $status -eq 0 ]] && echo "dependencies: every component includes only what it may"
exit $status
