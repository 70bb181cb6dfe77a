#!/usr/bin/env bash
# A local Strata cluster on a machine with Docker: kind, Argo Workflows, MinIO (archive + artifact repository),
# the Strata image loaded, and templates/overlays/dev applied. Idempotent: re-running converges.
# Env: KIND_CLUSTER (strata), ARGO_VERSION (v3.7.1), KIND_NODE_IMAGE (optional), SKIP_BUILD=1 to reuse the image.
set -euo pipefail
cd "$(dirname "$0")/.."

cluster="${KIND_CLUSTER:-strata}"
argo_version="${ARGO_VERSION:-v3.7.1}"
minio_image="${MINIO_IMAGE:-quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z}"
mc_image="${MC_IMAGE:-quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z}"

need() { command -v "$1" >/dev/null || { echo "kind-up: $1 is required" >&2; exit 2; }; }
need docker
need kind
need kubectl

if ! kind get clusters | grep -qx "$cluster"; then
  echo "== creating kind cluster $cluster"
  kind create cluster --name "$cluster" ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"} --wait 120s
fi
kubectl config use-context "kind-$cluster" >/dev/null

echo "== Argo Workflows $argo_version"
kubectl get namespace argo >/dev/null 2>&1 || kubectl create namespace argo
kubectl apply -n argo --server-side -f "https://github.com/argoproj/argo-workflows/releases/download/${argo_version}/install.yaml"
kubectl -n argo rollout status deployment/workflow-controller --timeout=180s
kubectl -n argo rollout status deployment/argo-server --timeout=180s

echo "== MinIO"
kubectl apply -n argo -f - <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: minio, labels: {app: minio}}
spec:
  replicas: 1
  selector: {matchLabels: {app: minio}}
  template:
    metadata: {labels: {app: minio}}
    spec:
      containers:
        - name: minio
          image: ${minio_image}
          args: [server, /data]
          env:
            - {name: MINIO_ROOT_USER, value: minioadmin}
            - {name: MINIO_ROOT_PASSWORD, value: minioadmin}
          ports: [{containerPort: 9000}]
          readinessProbe: {httpGet: {path: /minio/health/ready, port: 9000}}
---
apiVersion: v1
kind: Service
metadata: {name: minio}
spec:
  selector: {app: minio}
  ports: [{port: 9000, targetPort: 9000}]
YAML
kubectl -n argo rollout status deployment/minio --timeout=180s
kubectl -n argo delete pod minio-buckets --ignore-not-found >/dev/null
kubectl -n argo run minio-buckets --restart=Never --image="$mc_image" --command -- sh -c \
  'mc alias set local http://minio:9000 minioadmin minioadmin && mc mb -p --with-lock local/strata-archive && mc mb -p local/argo-artifacts'
kubectl -n argo wait --for=jsonpath='{.status.phase}'=Succeeded pod/minio-buckets --timeout=120s

echo "== Strata image"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  KIND_CLUSTER="$cluster" hack/build-images.sh dev
fi

echo "== Strata templates (overlays/dev) and policies"
kubectl apply -k templates/overlays/dev
for policy in policies/strata-policy-*.yaml; do
  kubectl apply -n argo -f "$policy"
done

echo "kind-up: ready. Argo UI: kubectl -n argo port-forward svc/argo-server 2746:2746 → https://localhost:2746"
