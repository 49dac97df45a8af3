#!/usr/bin/env bash
# Runs `npm run build` only when something tsc reads changed since the last successful build:
# any file or directory under src (a directory's time moves when a file is added, renamed or
# removed), the tsconfigs, package.json or the lock file. Even an incremental tsc with nothing
# to do costs seconds of CPU on every `npm run up`.
# The stamp is taken before the build and kept only if the build succeeds, so an edit made while
# tsc runs, or a failed build, builds again next time.
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

stamp=dist/.build-stamp
inputs=(src tsconfig.json tsconfig.build.json package.json package-lock.json scripts/build-console.js)
existing=()
for input in "${inputs[@]}"; do [ -e "$input" ] && existing+=("$input"); done
if [ -f "$stamp" ] && [ -z "$(find "${existing[@]}" -newer "$stamp" -print -quit)" ]; then
  exit 0
fi
mkdir -p dist
touch "$stamp.next"
npm run --silent build
mv "$stamp.next" "$stamp"
