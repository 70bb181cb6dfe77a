#!/usr/bin/env bash
# `npm run demo`: installs the npm dependencies on a fresh clone, then runs the end-to-end demo (hack/demo.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi
exec npx tsx hack/demo.ts "$@"
