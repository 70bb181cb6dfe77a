#!/usr/bin/env bash
# Stops the end-to-end cluster started by hack/e2e/up.sh: every process it recorded, by PID, newest first.
# Keeps the state directory (logs, data) unless --purge is given.
# Env: STRATA_E2E_STATE (state directory, default .cache/e2e/cluster).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
state="${STRATA_E2E_STATE:-$repo/.cache/e2e/cluster}"

# True while the PID still runs the program we started (a recycled PID belongs to someone else).
ours() {
  local pid="$1" name="$2" argv=()
  { mapfile -d '' -t argv <"/proc/$pid/cmdline"; } 2>/dev/null || return 1
  [ "${#argv[@]}" -gt 0 ] || return 1
  case "$name" in
    standin) [[ "${argv[*]}" == *hack/e2e/standin/main.ts* ]] ;;
    moto) [[ "${argv[*]}" == *moto_server* ]] ;;
    *) [ "$(basename "${argv[0]}")" = "$name" ] ;;
  esac
}

stop() {
  local pid="$1" name="$2" grace="$3" i
  ours "$pid" "$name" || return 0
  # The workflow-controller ignores SIGTERM and SIGINT.
  [ "$name" = workflow-controller ] || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    ours "$pid" "$name" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    ours "$pid" "$name" || return 0
    sleep 0.1
  done
  echo "e2e down: $name (pid $pid) did not stop" >&2
  return 1
}

status=0
if [ -d "$state/pids" ]; then
  while read -r pidfile; do
    name="$(basename "$pidfile" .pid)"
    name="${name#*-}"
    grace=5
    [ "$name" = workflow-controller ] && grace=1
    stop "$(cat "$pidfile")" "$name" "$grace" || status=1
    rm -f "$pidfile"
  done < <(find "$state/pids" -name '*.pid' | sort -r)
fi
if [ "${1:-}" = --purge ] && [ "$status" = 0 ]; then
  rm -rf "$state"
fi
exit "$status"
