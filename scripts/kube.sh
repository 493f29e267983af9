#!/usr/bin/env bash
# The Kubernetes suites against real API servers: for each version, etcd + kube-apiserver +
# kube-controller-manager + kube-scheduler on 127.0.0.1 with a throwaway PKI (../shared/kube/start.sh,
# binaries built from public Kubernetes source), then the real-server test files under vitest with
# KUBECONFIG pointing at it, then everything is stopped. `npm test` runs this as its `kube` step.
#
#   bash scripts/kube.sh                       # every version in KUBE_VERSIONS, the default files
#   KUBE_VERSIONS=v1.26.1 bash scripts/kube.sh conformance.real    # one version, some files
#
# Env: AGENTTIER_KUBE_DIR  the folder with start.sh and one folder per version (default ../shared/kube
#                          beside the repository)
#      KUBE_VERSIONS       space-separated (default: "v1.26.1 v1.32.13", the oldest and newest supported)
#      KEEP_LOGS=dir       copy each control plane's logs to dir/<version> on exit
#      KUBE_NODE=0         skip the runs on a real node (scripts/kube-node.sh; on by default when no
#                          file filters are given); KUBE_NODE_VERSIONS (default v1.32.13)
# Extra arguments replace the default test file filters.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
KUBE_DIR=${AGENTTIER_KUBE_DIR:-$ROOT/../shared/kube}
if [ ! -f "$KUBE_DIR/start.sh" ]; then
  echo "kube: no Kubernetes binaries at $KUBE_DIR (set AGENTTIER_KUBE_DIR to the folder with start.sh)" >&2
  exit 1
fi
VERSIONS=${KUBE_VERSIONS:-v1.26.1 v1.32.13}
if [ "$#" -gt 0 ]; then FILES=("$@"); else
  FILES=(conformance.real install.real leader-election.real leader-hard-kill.real operator-behaviour.real deploy-manifests.real crd-limits.real router.real rbac.real token-review.real pod-security-admission.real)
fi

# apt (etcd-server for versions without their own etcd) may be busy with another job: wait for its lock.
export DEBIAN_FRONTEND=noninteractive

for v in $VERSIONS; do
  started=$SECONDS
  echo "==> [kube] Kubernetes $v: ${FILES[*]}" >&2
  logs=()
  [ -n "${KEEP_LOGS:-}" ] && logs=(KEEP_LOGS="$KEEP_LOGS/$v")
  # start.sh's controllers plus pvc-protection (a deleted claim keeps its finalizer until it runs).
  env "${logs[@]}" KUBE_VERSION="$v" WITH_SCHEDULER=1 \
    KCM_CONTROLLERS=garbagecollector,namespace,serviceaccount-token,serviceaccount,root-ca-cert-publisher,service-ca-cert-publisher,pvc-protection \
    AGENTTIER_KUBE_DIR="$KUBE_DIR" bash "$ROOT/scripts/kube-start.sh" \
    env AGENTTIER_REAL_KUBE=1 AGENTTIER_KUBE_VERSION="$v" AGENTTIER_E2E_KUBELET=emulated \
    npx --no -- vitest run --project integration "${FILES[@]}"
  rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "==> [kube] Kubernetes $v FAILED (exit $rc) after $((SECONDS - started))s" >&2
    exit "$rc"
  fi
  echo "==> [kube] Kubernetes $v ok ($((SECONDS - started))s)" >&2
done

# A real node: the kubelet, containerd and a CNI bridge beside the control plane, all inside a network
# namespace of their own (scripts/kube-node.sh), and the operator's suites with the pods really
# running (images imported from the Docker engine, the injector built from packages/sandboxd/dist).
if [ "$#" -eq 0 ] && [ "${KUBE_NODE:-1}" = 1 ]; then
  for v in ${KUBE_NODE_VERSIONS:-v1.32.13}; do
    started=$SECONDS
    echo "==> [kube] Kubernetes $v with a real node: operator-behaviour.real router.real, then sandbox-attack.real, then helm-node.real" >&2
    # helm-node.real installs the chart (controller and router as pods, images built by kube-node.sh)
    # and runs after the files with an in-process controller: two controllers would fight. For the
    # same reason sandbox-attack.real (its controller kills and restarts its sandbox) runs on its own.
    AGENTTIER_KUBE_DIR=$KUBE_DIR KUBE_VERSION=$v bash "$ROOT/scripts/kube-node.sh" \
      env AGENTTIER_REAL_KUBE=1 AGENTTIER_E2E_INJECTOR_IMAGE=agenttier/sandboxd-injector:kube-node \
      sh -c 'npx --no -- vitest run --project integration operator-behaviour.real router.real &&
        npx --no -- vitest run --project integration sandbox-attack.real &&
        AGENTTIER_E2E_HELM_NODE=1 npx --no -- vitest run --project integration helm-node.real'
    rc=$?
    if [ "$rc" -ne 0 ]; then
      echo "==> [kube] Kubernetes $v with a real node FAILED (exit $rc) after $((SECONDS - started))s" >&2
      exit "$rc"
    fi
    echo "==> [kube] Kubernetes $v with a real node ok ($((SECONDS - started))s)" >&2
  done
fi
