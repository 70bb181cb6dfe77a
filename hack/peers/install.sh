#!/usr/bin/env bash
# Installs the test peers into ignored folders: a Python venv with moto[server] (the loopback S3 server) and
# schemathesis (the API fuzzer), an Elasticsearch node assembled from Maven Central (hack/peers/elasticsearch.sh,
# cached outside the repo), and Debian packages the suites use when we can install them (root) — idempotent and quick when present.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=.cache/venv
moto_version=5.2.5
if [ ! -x "$venv/bin/moto_server" ] || ! "$venv/bin/python" -c "import moto,sys; sys.exit(moto.__version__ != '$moto_version')" 2>/dev/null; then
  echo "== installing moto[server]==$moto_version into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$moto_version"
fi
# schemathesis fuzzes the query service's REST API (from its served OpenAPI document) and GraphQL schema
# (test/server/fuzz.test.ts); same venv, pinned.
schemathesis_version=4.32.5
if [ ! -x "$venv/bin/schemathesis" ] || [ "$("$venv/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}')" != "$schemathesis_version" ]; then
  echo "== installing schemathesis==$schemathesis_version into $venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

want=()
command -v shellcheck >/dev/null || want+=(shellcheck)
command -v zstd >/dev/null || want+=(zstd)
command -v java >/dev/null || want+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || want+=(maven)
# The dashboard's browser test drives Debian's Chromium (playwright-core never downloads a browser).
[ -x /usr/bin/chromium ] || want+=(chromium)
if [ ${#want[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing Debian packages: ${want[*]}"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >/dev/null
  else
    echo "note: ${want[*]} missing and not root; tests needing them will skip" >&2
  fi
fi

if command -v mvn >/dev/null && command -v java >/dev/null; then
  bash hack/peers/elasticsearch.sh install
else
  echo "note: no Java or Maven; the search-engine suites will skip" >&2
fi
