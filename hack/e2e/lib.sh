# shellcheck shell=bash
# Process bookkeeping for the e2e cluster, shared by up.sh, down.sh and restart.sh: every process is started in the
# background with its PID in <state>/pids/<order>-<name>.pid and its command beside it (.cmd, to restart it), and
# stopped by that PID only while the PID still runs the program we started.

# e2e_runs_dir <repo>: where cluster state goes by default: <repo>/.cache/e2e, unless the repository lives under
# /tmp, which every pod's own /tmp hides (the stand-in gives each pod a private /tmp): then a directory under /var/tmp
# named after the repository's path. test/e2e/support/runs-dir.ts follows the same rule.
e2e_runs_dir() {
  case "$1" in
    /tmp | /tmp/*) echo "/var/tmp/strata-e2e/$(printf %s "$1" | sha256sum | cut -c1-12)" ;;
    *) echo "$1/.cache/e2e" ;;
  esac
}

# e2e_launch <pidfile> <logfile> <command...>: plain `cmd &` (no setsid or wrapper), so $! is the process itself.
e2e_launch() {
  local pidfile="$1" logfile="$2"
  shift 2
  printf '%q ' "$@" >"${pidfile%.pid}.cmd"
  "$@" >>"$logfile" 2>&1 </dev/null &
  echo "$!" >"$pidfile"
}

# e2e_ours <pid> <name>: true while the PID still runs the program we started (a recycled PID is someone else's).
e2e_ours() {
  local pid="$1" name="$2" argv=()
  { mapfile -d '' -t argv <"/proc/$pid/cmdline"; } 2>/dev/null || return 1
  [ "${#argv[@]}" -gt 0 ] || return 1
  case "$name" in
    standin) [[ "${argv[*]}" == *hack/e2e/standin/main.ts* ]] ;;
    s3-gate) [[ "${argv[*]}" == *hack/e2e/s3-gate.ts* ]] ;;
    moto) [[ "${argv[*]}" == *moto_server* ]] ;;
    argo-server) [ "$(basename "${argv[0]}")" = argo ] && [ "${argv[1]:-}" = server ] ;;
    *) [ "$(basename "${argv[0]}")" = "$name" ] ;;
  esac
}

# e2e_stop <pid> <name>: SIGTERM, then SIGKILL after a grace (at once for the workflow-controller, which ignores
# SIGTERM and SIGINT).
e2e_stop() {
  local pid="$1" name="$2" grace=50 i
  e2e_ours "$pid" "$name" || return 0
  if [ "$name" = workflow-controller ]; then grace=10; else kill -TERM "$pid" 2>/dev/null || true; fi
  for ((i = 0; i < grace; i++)); do
    e2e_ours "$pid" "$name" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    e2e_ours "$pid" "$name" || return 0
    sleep 0.1
  done
  echo "e2e: $name (pid $pid) did not stop" >&2
  return 1
}

# e2e_name <pidfile>: the process name of a pidfile (<order>-<name>.pid).
e2e_name() {
  local name
  name="$(basename "$1" .pid)"
  echo "${name#*-}"
}
