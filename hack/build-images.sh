#!/usr/bin/env bash
# Builds the Strata step image (all steps are subcommands of one bundled CLI) and optionally loads it into kind.
# Usage: hack/build-images.sh [tag]   env: IMAGE (default strata), KIND_CLUSTER (load into this kind cluster), PUSH=1
set -euo pipefail
cd "$(dirname "$0")/.."

tag="${1:-dev}"
image="${IMAGE:-strata}"

if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
  echo "build-images: no Docker engine here; building the bundle only (dist/image)" >&2
  npx tsx images/bundle.ts dist/image
  exit 0
fi

echo "== building ${image}:${tag}"
docker build -f images/Dockerfile -t "${image}:${tag}" .
docker run --rm --read-only --tmpfs /tmp "${image}:${tag}" --help >/dev/null
echo "== ${image}:${tag} runs read-only as $(docker run --rm --entrypoint id "${image}:${tag}" -u)"

if [ -n "${KIND_CLUSTER:-}" ]; then
  kind load docker-image "${image}:${tag}" --name "${KIND_CLUSTER}"
fi
if [ "${PUSH:-0}" = 1 ]; then
  docker push "${image}:${tag}"
fi
