#!/usr/bin/env bash
# Stops the end-to-end cluster started by hack/e2e/up.sh: every process it recorded, by PID, newest first.
# Keeps the state directory (logs, data) unless --purge is given.
# Env: STRATA_E2E_STATE (state directory, default .cache/e2e/cluster; for a repository under /tmp, see e2e_runs_dir).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
state="${STRATA_E2E_STATE:-$(e2e_runs_dir "$repo")/cluster}"

status=0
if [ -d "$state/pids" ]; then
  while read -r pidfile; do
    e2e_stop "$(cat "$pidfile")" "$(e2e_name "$pidfile")" || status=1
    rm -f "$pidfile" "${pidfile%.pid}.cmd"
  done < <(find "$state/pids" -name '*.pid' | sort -r)
fi
if [ "${1:-}" = --purge ] && [ "$status" = 0 ]; then
  rm -rf "$state"
fi
exit "$status"
