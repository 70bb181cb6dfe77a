#!/usr/bin/env bash
# Installs Strata into the end-to-end cluster the way users do — `kubectl apply -k templates/overlays/dev` and the
# default policies from policies/ — then points the dev overlay's in-cluster MinIO endpoint at the cluster's moto
# (the one difference from a kind install: no Service DNS on loopback).
# Env: STRATA_E2E_STATE (the state directory hack/e2e/up.sh used).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
state="${STRATA_E2E_STATE:-$(e2e_runs_dir "$repo")/cluster}"
[ -f "$state/env" ] || { echo "e2e install: no cluster in $state (run hack/e2e/up.sh)" >&2; exit 1; }
# shellcheck source=/dev/null
source "$state/env"
cd "$repo"

# replace_edited <resource> <sed expression>: reads the object, edits it, replaces it; a Conflict (a controller wrote
# the object in between, e.g. the Deployment's status after scaling) reads it again, a few times.
replace_edited() {
  local resource="$1" expr="$2" i err
  for i in 1 2 3 4 5; do
    err="$(kubectl -n "$ARGO_NAMESPACE" get "$resource" -o json | sed "$expr" | kubectl replace -f - 2>&1 >/dev/null)" &&
      return 0
    [[ "$err" == *Conflict* || "$err" == *"has been modified"* ]] || break
  done
  echo "e2e install: replacing $resource failed (try $i): $err" >&2
  return 1
}

kubectl apply -k templates/overlays/dev >/dev/null
# The strata-watch Deployment (the dev overlay's watch component) would archive every workflow the moment it
# finishes, racing the scenarios' sweeps: it starts at zero replicas; the watch scenario scales it up.
kubectl -n "$ARGO_NAMESPACE" scale deployment strata-watch --replicas=0 >/dev/null
# Its pods run on the host here: metrics on loopback, on a port the kernel picks (the pod logs it), not :9090.
replace_edited deployment/strata-watch 's#"--metrics-address=:9090"#"--metrics-address=127.0.0.1:0"#'
kubectl -n "$ARGO_NAMESPACE" get deployment strata-watch -o jsonpath='{.spec.template.spec.containers[0].args}' |
  grep -q -- '--metrics-address=127.0.0.1:0' ||
  { echo "e2e install: strata-watch's --metrics-address=:9090 was not found to move to loopback" >&2; exit 1; }
kubectl apply -f policies/strata-policy-defaults.yaml -f policies/strata-policy-compliance.yaml \
  -f policies/strata-policy-platform.yaml >/dev/null

s3_host="${STRATA_E2E_S3_ENDPOINT#http://}"
for cm in strata-config artifact-repositories; do
  replace_edited "configmap/$cm" "s#minio\.argo\.svc:9000#$s3_host#g"
done
# Scheduled sweeps would race the scenarios; they trigger the CronWorkflows themselves (argo submit --from cronwf/…).
for cron in $(kubectl -n "$ARGO_NAMESPACE" get cronworkflows -o name); do
  kubectl -n "$ARGO_NAMESPACE" patch "$cron" --type merge -p '{"spec":{"suspend":true}}' >/dev/null
done
grep -rq 'minio\.argo\.svc:9000' <(kubectl -n "$ARGO_NAMESPACE" get configmaps -o yaml) &&
  { echo "e2e install: a ConfigMap still points at minio.argo.svc:9000" >&2; exit 1; }
echo "e2e install: Strata (dev overlay) installed in $ARGO_NAMESPACE, S3 at $STRATA_E2E_S3_ENDPOINT" >&2
