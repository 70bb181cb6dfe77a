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
echo "== tests"
report=.cache/vitest-report.json
mkdir -p .cache
status=0
npx vitest run --reporter=default --reporter=json --outputFile="$report" "$@" || status=$?
# One plain closing line that any CI reader understands, from vitest's own JSON report.
# shellcheck disable=SC2016
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  // A test file that fails to load has no failed tests, only a failed suite: count it, so the line never says 0.
  const broken = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + broken} failed, ${skipped} skipped`);
' "$report" || true
exit "$status"
