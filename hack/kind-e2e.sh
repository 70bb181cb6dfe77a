#!/usr/bin/env bash
# End to end on the kind cluster from hack/kind-up.sh: submit sample multi-agent workflows, run strata-archive,
# check the catalog, restore one workflow, and check finalize labelled (or deleted) what it archived.
set -euo pipefail
cd "$(dirname "$0")/.."

ns=argo
cluster="${KIND_CLUSTER:-strata}"
kubectl config use-context "kind-$cluster" >/dev/null
command -v argo >/dev/null || { echo "kind-e2e: the argo CLI is required" >&2; exit 2; }

echo "== e2e policy: archive the sample workflows at once, then delete them from the cluster"
kubectl apply -n "$ns" -f - <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: strata-policy-e2e
  labels:
    strata.dev/policy: "true"
data:
  e2e.yaml: |
    apiVersion: strata.dev/v1alpha1
    kind: RetentionPolicy
    metadata:
      name: e2e
    spec:
      rules:
        - name: e2e-now
          description: kind-e2e sample workflows are archived at once and deleted from the cluster.
          priority: 1000
          match: '"strata-e2e" in labels'
          immediate: true
          deleteSource: true
YAML

echo "== submitting sample multi-agent workflows"
run_id="e2e-$(date +%s)"
for agent in implementation quality testing; do
  argo submit -n "$ns" --wait --labels "workflow-type=play-orchestration,strata-e2e=$run_id,agent=$agent" - <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: play-$agent-
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: plan, template: step, arguments: {parameters: [{name: what, value: "plan $agent"}]}}
          - {name: work, template: step, depends: plan, arguments: {parameters: [{name: what, value: "work $agent"}]}}
    - name: step
      inputs: {parameters: [{name: what}]}
      container:
        image: busybox:1.36
        command: [sh, -c]
        args: ["for i in 1 2 3; do echo '{{inputs.parameters.what}}' line \$i; done"]
YAML
done

echo "== archiving (strata-archive; the selector picks this run only)"
argo submit -n "$ns" --wait --from workflowtemplate/strata-archive \
  -p namespaces="$ns" -p selector="strata-e2e=$run_id" -p dry-run=false -o name >/tmp/strata-e2e-archive
archive_wf="$(cat /tmp/strata-e2e-archive)"
phase="$(argo get -n "$ns" "$archive_wf" -o json | jq -r .status.phase)"
[ "$phase" = Succeeded ] || { argo logs -n "$ns" "$archive_wf" | tail -50; echo "kind-e2e: $archive_wf is $phase" >&2; exit 1; }
echo "selected: $(argo get -n "$ns" "$archive_wf" -o json | jq -r '.status.nodes[] | select(.displayName=="assess") | .outputs.parameters[] | select(.name=="selected") | .value')"

echo "== every sample workflow is labelled archived or gone"
left="$(kubectl get workflows -n "$ns" -l "strata-e2e=$run_id,!strata.dev/archived" -o name | wc -l)"
[ "$left" -eq 0 ] || { echo "kind-e2e: $left workflows were neither archived nor deleted" >&2; exit 1; }

echo "== query and restore through the image"
# Runs a shell line in a throwaway pod of the Strata image with the pipeline's configuration.
pod_run() {
  kubectl -n "$ns" run "strata-e2e-$1" --rm -i --restart=Never --image=strata:dev --overrides="$(jq -n --arg line "$2" \
    '{spec: {containers: [{name: "strata", image: "strata:dev", command: ["sh", "-c", $line],
      envFrom: [{configMapRef: {name: "strata-config"}}, {secretRef: {name: "strata-s3"}}]}]}}')"
}
pod_run verify 'strata verify --read-data'
found="$(pod_run query "strata index --catalog /tmp/c.db >/dev/null && strata query --catalog /tmp/c.db -l strata-e2e=$run_id -o json" | jq 'length')"
[ "$found" -ge 3 ] || { echo "kind-e2e: the catalog finds $found of 3 sample workflows" >&2; exit 1; }
manifests="$(argo get -n "$ns" "$archive_wf" -o json | jq -r '.status.outputs.parameters[] | select(.name=="manifests") | .value' | jq -r '.[]' | tr ',' '\n' | head -1)"
[ -n "$manifests" ] || { echo "kind-e2e: no manifest ids in the archive outputs" >&2; exit 1; }
# The restore step acts for its requester (pinned to the submitter by admission) and needs restores.strata.dev.
me="$(kubectl auth whoami -o jsonpath='{.status.userInfo.username}')"
kubectl create clusterrolebinding strata-e2e-restorer --clusterrole=strata-restorer --user="$me" \
  --dry-run=client -o yaml | kubectl apply -f -
argo submit -n "$ns" --wait --from workflowtemplate/strata-restore -p workflow="$manifests" -p requester="$me" \
  -o name >/tmp/strata-e2e-restore
restore_phase="$(argo get -n "$ns" "$(cat /tmp/strata-e2e-restore)" -o json | jq -r .status.phase)"
[ "$restore_phase" = Succeeded ] || { echo "kind-e2e: restore is $restore_phase" >&2; exit 1; }
echo "kind-e2e: OK (archive $archive_wf, restore $(cat /tmp/strata-e2e-restore))"
