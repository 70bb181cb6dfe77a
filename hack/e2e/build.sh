#!/usr/bin/env bash
# Builds the end-to-end cluster's binaries from the Go module proxy (argo CLI, workflow-controller, kube-apiserver,
# kubectl, kube-controller-manager, etcd) and Argo's CRDs into a cache keyed by their versions, outside the
# repository, and prints the bin directory. Builds only what the cache lacks. Needs Go (>= 1.24) and ~2 GB of RAM; ~9 min cold.
# The Go build and module caches (~12 GB) are temporary and deleted afterwards.
# Env: STRATA_E2E_CACHE (~/.cache/strata/e2e), ARGO_VERSION, KUBE_VERSION, ETCD_VERSION.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/versions.sh"

bin="$E2E_BIN"
binaries=(argo workflow-controller kube-apiserver kubectl kube-controller-manager etcd)

have() {
  local b
  for b in "$@"; do [ -x "$bin/$b" ] || return 1; done
}
# What build_argo changes in Argo's source; a cached argo built with other patches is rebuilt.
argo_patches="controller-health-on-loopback server-on-loopback"
argo_current() { have argo workflow-controller && [ "$(cat "$bin/.argo-patches" 2>/dev/null)" = "$argo_patches" ]; }
complete() { have "${binaries[@]}" && argo_current && [ -f "$E2E_CRDS/kustomization.yaml" ]; }

if complete; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "e2e build: Go is not installed (https://go.dev/dl/); cannot build $bin" >&2; exit 3; }

mkdir -p "$E2E_CACHE"
# One build at a time per cache: a second caller waits, then finds the binaries.
exec 9>"$E2E_CACHE/.build.lock"
flock 9
if complete; then
  echo "$bin"
  exit 0
fi

work="$(mktemp -d "$E2E_CACHE/build.XXXXXX")"
cleanup() {
  # The module cache is read-only by design; make it writable so it can go.
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export GOCACHE="$work/gocache" GOMODCACHE="$work/gomodcache" GOPATH="$work/gopath" GOFLAGS=-buildvcs=false
export CGO_ENABLED=0 GOWORK=off GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
out="$work/bin"
mkdir -p "$out"

log() { echo "e2e build: $*" >&2; }
started=$SECONDS

# Copies a module from the proxy into $work/src/<name> (writable) and prints that directory.
fetch_module() {
  local module="$1" name="$2" dir
  dir="$(cd "$work" && go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$dir" ] || { log "could not download $module"; exit 1; }
  mkdir -p "$work/src"
  cp -r "$dir" "$work/src/$name"
  chmod -R u+w "$work/src/$name"
  echo "$work/src/$name"
}

# Moves what was built into the cache, one file at a time (each rename is atomic).
keep() {
  local b
  mkdir -p "$bin"
  for b in "$@"; do
    [ -x "$out/$b" ] || { log "$b was not built"; exit 1; }
    mv "$out/$b" "$bin/$b"
  done
}

build_etcd() {
  log "etcd $ETCD_VERSION"
  local src
  src="$(fetch_module "go.etcd.io/etcd/server/v3@$ETCD_VERSION" etcd)"
  (
    cd "$src"
    # The module points its sibling modules at ../ paths that are not in the module zip: use the published ones.
    for m in api client/pkg client pkg; do go mod edit -dropreplace="go.etcd.io/etcd/$m/v3"; done
    go build -mod=mod -trimpath -ldflags "-s -w" -o "$out/etcd" .
  )
  keep etcd
}

build_argo() {
  log "argo and workflow-controller $ARGO_VERSION, Argo's full CRDs"
  local src
  src="$(fetch_module "github.com/argoproj/argo-workflows/v4@$ARGO_VERSION" argo)"
  rm -rf "$E2E_CRDS.partial"
  mkdir -p "$E2E_CRDS.partial"
  cp "$src"/manifests/base/crds/full/*.yaml "$E2E_CRDS.partial/"
  rm -rf "$E2E_CRDS"
  mv "$E2E_CRDS.partial" "$E2E_CRDS"
  argo_current && return 0
  (
    cd "$src"
    # The CLI embeds the UI, which the module zip does not ship; any page will do.
    mkdir -p ui/dist/app && echo '<!doctype html><title>argo</title>' >ui/dist/app/index.html
    # The controller's health endpoint listens on :6060 on every interface; the e2e keeps everything on loopback.
    main=cmd/workflow-controller/main.go
    grep -q '":6060"' "$main" || { log "$main no longer listens on \":6060\": update the patch"; exit 1; }
    sed -i 's/":6060"/"127.0.0.1:6060"/' "$main"
    # So does `argo server` (the event endpoint's scenario runs it): listen on, and dial itself at, loopback.
    server=server/apiserver/argoserver.go
    if ! { grep -q 'address := fmt.Sprintf(":%d", port)' "$server" && grep -q '"localhost:%d", port' "$server"; }; then
      log "$server no longer listens on \":<port>\": update the patch"
      exit 1
    fi
    sed -i -e 's/address := fmt.Sprintf(":%d", port)/address := fmt.Sprintf("127.0.0.1:%d", port)/' \
      -e 's/fmt.Sprintf("localhost:%d", port)/fmt.Sprintf("127.0.0.1:%d", port)/' "$server"
    ldflags="-s -w -X github.com/argoproj/argo-workflows/v4.version=$ARGO_VERSION"
    go build -mod=mod -trimpath -ldflags "$ldflags" -o "$out/argo" ./cmd/argo
    go build -mod=mod -trimpath -ldflags "$ldflags" -o "$out/workflow-controller" ./cmd/workflow-controller
  )
  keep argo workflow-controller
  echo "$argo_patches" >"$bin/.argo-patches"
}

build_kube() {
  log "kube-apiserver, kubectl, kube-controller-manager $KUBE_VERSION"
  local src
  src="$(fetch_module "k8s.io/kubernetes@$KUBE_VERSION" kubernetes)"
  (
    cd "$src"
    rm -rf vendor
    # The staging modules are replaced by ./staging/src/k8s.io/X, which the module zip leaves out: use the published
    # k8s.io/X at the matching v0 version instead (the two sample-* modules are not published and not needed).
    staging="v0.${KUBE_VERSION#v1.}"
    sed -n 's|^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/.*|\1|p' go.mod | sort -u >"$work/k8s-staging"
    [ -s "$work/k8s-staging" ] || { log "k8s.io/kubernetes@$KUBE_VERSION has no ./staging replaces: update the build"; exit 1; }
    while read -r m; do
      case "$m" in
        k8s.io/sample-*) go mod edit -dropreplace="$m" -droprequire="$m" ;;
        *) go mod edit -replace="$m=$m@$staging" ;;
      esac
    done <"$work/k8s-staging"
    ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION"
    go build -mod=mod -trimpath -ldflags "$ldflags" -o "$out/" ./cmd/kube-apiserver ./cmd/kubectl ./cmd/kube-controller-manager
  )
  keep kube-apiserver kubectl kube-controller-manager
}

have etcd || build_etcd
{ argo_current && [ -f "$E2E_CRDS/kustomization.yaml" ]; } || build_argo
have kube-apiserver kubectl kube-controller-manager || build_kube

complete || { log "the cache at $bin is still incomplete"; exit 1; }
log "built in $((SECONDS - started)) s into $bin"
echo "$bin"
