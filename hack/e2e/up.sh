#!/usr/bin/env bash
# Starts the end-to-end cluster on loopback, without containers: etcd, kube-apiserver, kube-controller-manager
# (garbage collection, service accounts, Deployments and Jobs), Argo's workflow-controller, a moto S3 server (archive store and Argo's
# artifact repository), `argo server` (the events endpoint) and the kubelet/executor stand-in (hack/e2e/standin). Every process listens on 127.0.0.1 only,
# on free ports, and is recorded by PID under the state directory; hack/e2e/down.sh stops them.
# Writes <state>/env (source it: KUBECONFIG, PATH with kubectl/argo, the S3 endpoint) and <state>/cluster.json.
# Env: STRATA_E2E_STATE (state directory, default .cache/e2e/cluster; for a repository under /tmp, see e2e_runs_dir), STRATA_E2E_NAMESPACE (argo).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/versions.sh"
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
default_state="$(e2e_runs_dir "$repo")/cluster"
state="$(mkdir -p "${STRATA_E2E_STATE:-$default_state}" && cd "${STRATA_E2E_STATE:-$default_state}" && pwd)"
ns="${STRATA_E2E_NAMESPACE:-argo}"
cd "$repo"
started=$SECONDS

log() { echo "e2e up: $*" >&2; }
die() { log "$*"; exit 1; }
case "$state" in
  /tmp | /tmp/*) die "$state is under /tmp, which every pod's own /tmp hides: set STRATA_E2E_STATE outside /tmp" ;;
esac

for pidfile in "$state"/pids/*.pid; do
  [ -e "$pidfile" ] || continue
  kill -0 "$(cat "$pidfile")" 2>/dev/null && die "a cluster is already running in $state (hack/e2e/down.sh stops it)"
done
bin="$(bash "$repo/hack/e2e/build.sh")"
moto="$repo/.cache/venv/bin/moto_server"
[ -x "$moto" ] || bash "$repo/hack/peers/install.sh" >&2

rm -rf "${state:?}"/{pids,logs,pki,etcd,standin,image,env,cluster.json,kubeconfig}
mkdir -p "$state"/{pids,logs,pki}
# If anything below fails, stop what was already started.
on_exit() {
  local status=$?
  [ "$status" = 0 ] || STRATA_E2E_STATE="$state" bash "$repo/hack/e2e/down.sh" >&2 || true
  exit "$status"
}
trap on_exit EXIT

# Distinct free loopback ports, all held open until every one is chosen.
read -r etcd_port etcd_peer_port api_port kcm_port moto_port kubelet_port s3_port argo_server_port metrics_port < <(node -e '
  const net = require("node:net");
  const servers = Array.from({ length: 9 }, () => net.createServer());
  Promise.all(servers.map((s) => new Promise((ok) => s.listen(0, "127.0.0.1", () => ok(s.address().port)))))
    .then((ports) => { console.log(ports.join(" ")); servers.forEach((s) => s.close()); });
')

# Starts a process in the background, its output in logs/<name>.log, its PID in pids/<order>-<name>.pid.
order=0
start() {
  local name="$1"
  shift
  order=$((order + 1))
  e2e_launch "$state/pids/$(printf %02d "$order")-$name.pid" "$state/logs/$name.log" "$@"
}

# Waits until a command succeeds, or fails naming what did not come up and the tail of its log.
wait_for() {
  local what="$1" logname="$2" tries="$3"
  shift 3
  local i
  local pidfile
  for ((i = 0; i < tries; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    # A process that already exited will not come up: say so now, not after every try.
    for pidfile in "$state"/pids/*-"$logname".pid; do
      [ -e "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null && break 2
    done
    sleep 0.25
  done
  tail -n 20 "$state/logs/$logname.log" >&2 || true
  die "$what did not come up"
}

log "certificates"
pki="$state/pki"
(
  cd "$pki"
  openssl_quiet() { openssl "$@" 2>/dev/null; }
  keypair() { openssl_quiet genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }
  # sign <name> <subject> <extensions>
  sign() {
    keypair "$1"
    openssl_quiet req -new -key "$1.key" -subj "$2" -out "$1.csr"
    printf '%s\n' "$3" >"$1.ext"
    openssl_quiet x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 7 -extfile "$1.ext" -out "$1.crt"
    rm -f "$1.csr" "$1.ext"
  }
  keypair ca
  openssl_quiet req -x509 -new -key ca.key -subj /CN=strata-e2e-ca -days 7 -out ca.crt
  serving='basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth'
  client='basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth'
  sign apiserver /CN=kube-apiserver "$serving
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  sign kubelet /CN=strata-e2e-node "$serving
subjectAltName=IP:127.0.0.1,DNS:localhost"
  sign admin "/O=system:masters/CN=strata-e2e-admin" "$client"
  sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
  openssl_quiet genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key
  openssl_quiet pkey -in sa.key -pubout -out sa.pub
  # Bearer tokens for people (identity and RBAC tests): token,user,uid,"groups".
  : >tokens.csv
  for user in alice bob carol mallory; do
    token="$(openssl rand -hex 24)"
    echo "$token,$user,$user,\"strata-e2e-users\"" >>tokens.csv
    printf %s "$token" >"token-$user"
  done
  chmod 600 ./*.key tokens.csv token-*
)

log "etcd on 127.0.0.1:$etcd_port"
start etcd "$bin/etcd" --name e2e --data-dir "$state/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster "e2e=http://127.0.0.1:$etcd_peer_port" --unsafe-no-fsync=true --log-level=warn
wait_for etcd etcd 80 curl -sf "http://127.0.0.1:$etcd_port/health"

log "kube-apiserver on 127.0.0.1:$api_port"
issuer=https://kubernetes.default.svc.cluster.local
start kube-apiserver "$bin/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$etcd_port" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" --token-auth-file "$pki/tokens.csv" \
  --service-account-issuer "$issuer" --api-audiences "$issuer" \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-cluster-ip-range 10.96.0.0/16 --endpoint-reconciler-type none \
  --authorization-mode Node,RBAC --enable-priority-and-fairness=false --profiling=false \
  --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP
kubeconfig="$state/kubeconfig"
cat >"$kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
  - name: strata-e2e
    cluster:
      server: https://127.0.0.1:$api_port
      certificate-authority: $pki/ca.crt
users:
  - name: strata-e2e-admin
    user:
      client-certificate: $pki/admin.crt
      client-key: $pki/admin.key
contexts:
  - name: strata-e2e
    context: { cluster: strata-e2e, user: strata-e2e-admin, namespace: $ns }
current-context: strata-e2e
YAML
export KUBECONFIG="$kubeconfig"
kubectl=("$bin/kubectl" --kubeconfig "$kubeconfig")
wait_for kube-apiserver kube-apiserver 240 "${kubectl[@]}" get --raw /readyz

log "Argo CRDs (full), namespace $ns"
"${kubectl[@]}" apply --server-side -k "$E2E_CRDS" >/dev/null
start kube-controller-manager "$bin/kube-controller-manager" --kubeconfig "$kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$kcm_port" --leader-elect=false --use-service-account-credentials=false \
  --controllers garbage-collector-controller,serviceaccount-controller,namespace-controller,root-ca-certificate-publisher-controller,deployment-controller,replicaset-controller,job-controller \
  --root-ca-file "$pki/ca.crt" --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig"
"${kubectl[@]}" create namespace "$ns" >/dev/null
# (kubectl wait fails outright on a CRD that has no conditions yet: retry it.)
wait_for "Argo's CRDs" kube-apiserver 240 "${kubectl[@]}" wait --for condition=established --timeout 5s crd --all
# Values are YAML flow values: a block value made the controller exit. Metrics on a free port, plain HTTP (the
# default :9090 is the strata-watch Deployment's here, every pod runs on the host): scenarios read the templates'
# metrics there (docs/metrics.md). telemetryConfig stays off.
"${kubectl[@]}" -n "$ns" create configmap workflow-controller-configmap \
  --from-literal=metricsConfig="{enabled: true, port: $metrics_port, secure: false}" \
  --from-literal=telemetryConfig='{enabled: false}' >/dev/null
wait_for "the $ns/default service account" kube-controller-manager 120 "${kubectl[@]}" -n "$ns" get serviceaccount default

log "moto S3 on 127.0.0.1:$moto_port, through a gate on 127.0.0.1:$s3_port (scenarios close it for S3 faults)"
start moto "$moto" -H 127.0.0.1 -p "$moto_port"
wait_for moto moto 80 curl -sf "http://127.0.0.1:$moto_port/"
start s3-gate node --import tsx "$repo/hack/e2e/s3-gate.ts" "$s3_port" "$moto_port"
s3="http://127.0.0.1:$s3_port"
wait_for "the S3 gate" s3-gate 80 curl -sf "$s3/"
# The archive bucket with Object Lock, as docs/stores.md asks of a production store (legal holds become S3 legal holds).
curl -sf -X PUT "$s3/argo-artifacts" >/dev/null
curl -sf -X PUT -H 'x-amz-bucket-object-lock-enabled: true' "$s3/strata-archive" >/dev/null

log "workflow-controller $ARGO_VERSION"
# Leader election off (one controller) and a 1 s requeue (the default 10 s makes every step take ~10 s).
start workflow-controller env LEADER_ELECTION_DISABLE=true DEFAULT_REQUEUE_TIME=1s \
  "$bin/workflow-controller" --kubeconfig "$kubeconfig" --namespace "$ns" --namespaced --managed-namespace "$ns" \
  --configmap workflow-controller-configmap --executor-image "quay.io/argoproj/argoexec:$ARGO_VERSION"

# The Argo Server, for its events endpoint (WorkflowEventBindings): plain HTTP on loopback (build.sh patches its
# listener from ":<port>" to 127.0.0.1), client auth mode (each call acts with the caller's bearer token, which
# argo-server builds a client for from $KUBECONFIG without the admin's key).
log "argo server $ARGO_VERSION on 127.0.0.1:$argo_server_port"
start argo-server env KUBECONFIG="$kubeconfig" "$bin/argo" server --namespace "$ns" --namespaced \
  --managed-namespace "$ns" --configmap workflow-controller-configmap --auth-mode client --secure=false \
  --port "$argo_server_port"
wait_for "argo server" argo-server 240 curl -sf "http://127.0.0.1:$argo_server_port/"

log "stand-in for the kubelet and Argo's executor"
node --import tsx images/bundle.ts "$state/image" >/dev/null
start standin node --import tsx "$repo/hack/e2e/standin/main.ts" --kubeconfig "$kubeconfig" --namespace "$ns" \
  --state "$state/standin" --bundle "$state/image" --port "$kubelet_port" \
  --tls-cert "$pki/kubelet.crt" --tls-key "$pki/kubelet.key"
wait_for "the stand-in node" standin 120 "${kubectl[@]}" get node strata-e2e-node

cat >"$state/env" <<ENV
# Source this file to use the end-to-end cluster: kubectl, argo and strata talk to it.
export KUBECONFIG='$kubeconfig'
export PATH='$bin':"\$PATH"
export ARGO_NAMESPACE='$ns'
export STRATA_E2E_STATE='$state'
export STRATA_E2E_S3_ENDPOINT='$s3'
export ARGO_SERVER_URL='http://127.0.0.1:$argo_server_port'
ENV
cat >"$state/cluster.json" <<JSON
{
  "state": "$state",
  "bin": "$bin",
  "kubeconfig": "$kubeconfig",
  "namespace": "$ns",
  "apiServer": "https://127.0.0.1:$api_port",
  "s3Endpoint": "$s3",
  "argoServer": "http://127.0.0.1:$argo_server_port",
  "controllerMetrics": "http://127.0.0.1:$metrics_port/metrics",
  "caFile": "$pki/ca.crt",
  "tokens": {
    "alice": "$pki/token-alice",
    "bob": "$pki/token-bob",
    "carol": "$pki/token-carol",
    "mallory": "$pki/token-mallory"
  }
}
JSON
trap - EXIT
log "up in $((SECONDS - started)) s; source $state/env"
