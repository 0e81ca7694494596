#!/usr/bin/env bash
# Runs clang-tidy (the curated .clang-tidy) over src/ using the build's compile database.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/dev}
mapfile -t files < <(git ls-files -co --exclude-standard -- 'src/*.cc')
run-clang-tidy -quiet -p "$build" "${files[@]}" 2>/dev/null || clang-tidy -p "$build" --quiet "${files[@]}"
