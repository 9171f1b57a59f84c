#!/usr/bin/env bash
# Runs a split upload on Kubernetes: session -> Indexed Job (one pod per shard) -> commit Job.
set -euo pipefail
cd "$(dirname "$0")"
NS=data
IMAGE=ghcr.io/example/datamover:0.1.0
STORE=$(kubectl -n "$NS" get configmap datamover-store -o jsonpath='{.data.DATAMOVER_STORE}')
SESSION=$(kubectl -n "$NS" run "datamover-session-$$" --rm -i --restart=Never --quiet --image="$IMAGE" \
  --overrides='{"spec":{"serviceAccountName":"datamover"}}' -- --store "$STORE" session start --repo datasets)
kubectl -n "$NS" create configmap datamover-session --from-literal=session="$SESSION" --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$NS" delete job datamover-split-upload datamover-split-commit --ignore-not-found
kubectl apply -f split-upload-job.yaml
kubectl -n "$NS" wait --for=condition=complete --timeout=24h job/datamover-split-upload
kubectl apply -f split-commit-job.yaml
kubectl -n "$NS" wait --for=condition=complete --timeout=1h job/datamover-split-commit
echo "committed session $SESSION"
