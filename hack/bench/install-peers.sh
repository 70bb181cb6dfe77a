#!/usr/bin/env bash
# Installs the benchmark's peers from Debian when missing: restic, borgbackup, zstd (and GNU time for peak RSS).
set -euo pipefail

want=()
command -v restic >/dev/null || want+=(restic)
command -v borg >/dev/null || want+=(borgbackup)
command -v zstd >/dev/null || want+=(zstd)
[ -x /usr/bin/time ] || want+=(time)
if [ ${#want[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing Debian packages for the benchmark: ${want[*]}" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
else
  echo "note: ${want[*]} missing and not root; the benchmark skips those peers" >&2
fi
