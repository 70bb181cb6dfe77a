#!/usr/bin/env bash
# Restarts one process of the end-to-end cluster (a fault: the API server or the controller going away mid-sweep):
# stops it by its recorded PID, waits, starts it again with the command up.sh used, and waits for it to serve.
# Usage: hack/e2e/restart.sh <kube-apiserver|workflow-controller|etcd|standin|...> [seconds down, default 2]
# Env: STRATA_E2E_STATE (state directory, default .cache/e2e/cluster; for a repository under /tmp, see e2e_runs_dir).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
state="${STRATA_E2E_STATE:-$(e2e_runs_dir "$repo")/cluster}"
name="${1:?usage: restart.sh <name> [seconds down]}"
down_for="${2:-2}"

pidfile="$(find "$state/pids" -name "*-$name.pid" | head -1)"
[ -n "$pidfile" ] || { echo "e2e restart: no $name in $state/pids" >&2; exit 2; }
cmd="$(cat "${pidfile%.pid}.cmd")"
e2e_stop "$(cat "$pidfile")" "$name"
echo "e2e restart: $name stopped; starting again in $down_for s" >&2
sleep "$down_for"
eval "e2e_launch \"\$pidfile\" \"\$state/logs/\$name.log\" $cmd"
if [ "$name" = kube-apiserver ]; then
  # shellcheck source=/dev/null
  source "$state/env"
  for ((i = 0; i < 240; i++)); do
    kubectl get --raw /readyz >/dev/null 2>&1 && break
    sleep 0.25
  done
  kubectl get --raw /readyz >/dev/null
fi
echo "e2e restart: $name running again (pid $(cat "$pidfile"))" >&2
