#!/usr/bin/env bash
# Proves the dashboard's vendored uPlot (web/vendor/, embedded into the binary) is what
# web/package-lock.json pins: `npm ci` has verified node_modules against the lock file's
# integrity hashes, so each vendored file must equal its node_modules copy byte for byte and the
# installed version must be the locked one. Exit 77 (skipped) without node_modules unless CI is set.
set -euo pipefail
web="${1:-$(cd "$(dirname "$0")/../../web" && pwd)}"
web="$(cd "$web" && pwd)"  # absolute: node's require() takes a bare relative path for a module name
mod="$web/node_modules/uplot"
if [ ! -f "$mod/package.json" ]; then
  if [ -n "${CI:-}" ]; then echo "FAIL: $mod missing (run npm ci --prefix web)"; exit 1; fi
  echo "SKIP: $mod missing (run npm ci --prefix web, or scripts/setup)"; exit 77
fi
locked=$(node -e 'const l=require(process.argv[1]);process.stdout.write(l.packages["node_modules/uplot"].version)' "$web/package-lock.json")
installed=$(node -e 'process.stdout.write(require(process.argv[1]).version)' "$mod/package.json")
pinned=$(node -e 'process.stdout.write(require(process.argv[1]).dependencies.uplot)' "$web/package.json")
status=0
if [ "$locked" != "$installed" ] || [ "$locked" != "$pinned" ]; then
  echo "FAIL: uplot version: package.json $pinned, lock file $locked, node_modules $installed"; status=1
fi
for f in uPlot.iife.min.js uPlot.min.css; do
  if cmp -s "$web/vendor/$f" "$mod/dist/$f"; then
    echo "ok: web/vendor/$f = node_modules/uplot/dist/$f (uplot $locked)"
  else
    echo "FAIL: web/vendor/$f differs from node_modules/uplot/dist/$f (fix: cp it from there)"; status=1
  fi
done
exit $status
