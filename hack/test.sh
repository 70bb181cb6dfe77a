#!/usr/bin/env bash
# The one test command (`npm test`): installs what the tests need, then typecheck, lint and the vitest suites.
set -euo pipefail
cd "$(dirname "$0")/.."

# A node_modules that is a symlink belongs to another checkout (a git worktree sharing it): npm ci would empty it
# under that checkout's feet, so it is left alone.
if [ ! -L node_modules ] && { [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  npm ci --no-audit --no-fund
fi
bash hack/peers/install.sh

mkdir -p .cache
reports=(.cache/vitest-report.json)
status=0
# The end-to-end suite (docs/e2e.md): a real API server and Argo's controller on loopback. Not when the caller picked
# test files; STRATA_E2E=0 skips it. Without root, or without Go and cached binaries, it skips and says why.
# It spends most of its time waiting on the controller (retry backoff, a restarted API server), so it runs alongside
# typecheck, lint and the unit suites rather than after them; its output is shown when it ends. Every step below runs
# even when an earlier one fails, so the cluster is always stopped by the suite's own teardown.
e2e_pid=
if [ $# -eq 0 ] && [ "${STRATA_E2E:-1}" != 0 ]; then
  reports+=(.cache/vitest-e2e-report.json)
  rm -f "${reports[1]}"
  npx vitest run --config vitest.e2e.config.ts --reporter=default --reporter=json --outputFile="${reports[1]}" \
    >.cache/e2e.log 2>&1 &
  e2e_pid=$!
fi

echo "== typecheck"; npx tsc --noEmit || status=$?
echo "== lint"; npx eslint --max-warnings=0 . || status=$?
echo "== format"; npx prettier --check . >/dev/null || { npx prettier --check . ; status=1; }
echo "== tests"
npx vitest run --reporter=default --reporter=json --outputFile="${reports[0]}" "$@" || status=$?
if [ -n "$e2e_pid" ]; then
  e2e_status=0
  wait "$e2e_pid" || e2e_status=$?
  echo "== end to end (ran alongside the steps above)"
  cat .cache/e2e.log
  [ "$e2e_status" = 0 ] || status=$e2e_status
fi
# One plain closing line that any CI reader understands, from vitest's own JSON reports.
# shellcheck disable=SC2016
node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const file of process.argv.slice(1)) {
    if (!fs.existsSync(file)) continue;
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    // A test file that fails to load has no failed tests, only a failed suite: count it, so the line never says 0.
    const broken = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
    // A run that failed before any test (its global setup, say) has no failed test either: count it too.
    if (!r.success && r.numFailedTests + broken === 0) failed += 1;
    passed += r.numPassedTests;
    failed += r.numFailedTests + broken;
    skipped += r.numPendingTests + r.numTodoTests;
  }
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
' "${reports[@]}" || true
exit "$status"
