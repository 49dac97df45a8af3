#!/usr/bin/env bash
# Puts `berth` on PATH: BINDIR/berth (default /usr/local/bin) becomes a link to this checkout's
# bin/berth.js, as `npm link` would, when there is none or the one there points nowhere. A
# `berth` that works (another checkout's, or a real install) is left alone and named, so that
# setting up a second checkout never silently changes what the first one runs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bindir="${1:-/usr/local/bin}"
link="$bindir/berth"
target="$root/bin/berth.js"

if [ -L "$link" ] && [ "$(readlink "$link")" = "$target" ]; then exit 0; fi
if [ -e "$link" ]; then
  echo "setup: $link is $(readlink -f "$link"), not this checkout's; here, run node bin/berth.js (or ln -sf $target $link)" >&2
  exit 0
fi
if [ ! -w "$bindir" ]; then
  echo "setup: cannot write $bindir, so berth is not on PATH; run node bin/berth.js (or ln -s $target $link as root)" >&2
  exit 0
fi
ln -sfn "$target" "$link"
echo "setup: berth is on PATH ($link -> $target)" >&2
