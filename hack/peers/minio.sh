#!/usr/bin/env bash
# Optional second S3 peer: builds MinIO with `go install` into .cache/bin (time-boxed; a big build on 2 cores).
# Use it with: STRATA_TEST_S3_PEER=minio npx vitest run test/store
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -x .cache/bin/minio ]; then
  echo "minio present: $(.cache/bin/minio --version | head -1)"
  exit 0
fi
command -v go >/dev/null || { echo "go is not installed; MinIO peer unavailable" >&2; exit 1; }
mkdir -p .cache/bin
echo "== go install github.com/minio/minio@latest (up to ${MINIO_BUILD_TIMEOUT:-900}s)"
GOBIN="$PWD/.cache/bin" timeout "${MINIO_BUILD_TIMEOUT:-900}" go install github.com/minio/minio@latest
.cache/bin/minio --version | head -1
