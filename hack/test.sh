#!/usr/bin/env bash
# The one test command (`npm test`): installs what the tests need, then typecheck, lint and the vitest suites.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash hack/peers/install.sh

echo "== typecheck"; npx tsc --noEmit
echo "== lint"; npx eslint --max-warnings=0 .
echo "== format"; npx prettier --check . >/dev/null || { npx prettier --check . ; exit 1; }
echo "== tests"; npx vitest run "$@"
