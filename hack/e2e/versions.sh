# shellcheck shell=bash
# The versions the end-to-end cluster runs and where their binaries are cached (sourced by the hack/e2e scripts).
ARGO_VERSION="${ARGO_VERSION:-v4.0.5}"
KUBE_VERSION="${KUBE_VERSION:-v1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.7.3}"
E2E_CACHE="${STRATA_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strata/e2e}"
E2E_BIN="$E2E_CACHE/argo-$ARGO_VERSION-kube-$KUBE_VERSION-etcd-$ETCD_VERSION/bin"
export ARGO_VERSION KUBE_VERSION ETCD_VERSION E2E_CACHE E2E_BIN
# Argo's full CRDs (manifests/base/crds/full of the argo module), cached beside the binaries.
E2E_CRDS="$(dirname "$E2E_BIN")/argo-crds"
export E2E_CRDS
