#!/usr/bin/env bash
# Deploys AgentTier into the current kubectl context and checks it end to end (the "phase 0" of a
# cluster rollout):
#   1. CRDs: apply deploy/crds if missing, wait until each is Established
#   2. apply the install (kustomize base, or OVERLAY=gvisor|kata) and wait for the controller
#      Deployment to be Available (and the router's)
#   3. create a sandbox from a template and wait for phase Running (then delete it, unless KEEP=1)
#   4. print how to reach it
#
# Env: OVERLAY=gvisor|kata      kustomize overlay (default: base)
#      NAMESPACE=agenttier      install namespace (the manifests use agenttier)
#      SANDBOX_NAMESPACE=default
#      TEMPLATE=minimal-shell   template of the smoke-test sandbox
#      TIMEOUT=300              seconds for each wait
#      KEEP=1                   keep the smoke-test sandbox
#      KUBECTL=kubectl          kubectl binary (with --kubeconfig/--context in KUBECTL_ARGS)
#      DRY_RUN=1                render and server-side dry-run only (no changes)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OVERLAY=${OVERLAY:-}
NAMESPACE=${NAMESPACE:-agenttier}
SANDBOX_NAMESPACE=${SANDBOX_NAMESPACE:-default}
TEMPLATE=${TEMPLATE:-minimal-shell}
TIMEOUT=${TIMEOUT:-300}
KUBECTL=${KUBECTL:-kubectl}
read -r -a KARGS <<<"${KUBECTL_ARGS:-}"
SANDBOX=${SANDBOX:-agenttier-smoke-$(date +%s)}

k() { "$KUBECTL" "${KARGS[@]}" "$@"; }
log() { printf '==> [deploy-k8s] %s\n' "$*" >&2; }
die() {
  printf '==> [deploy-k8s] ERROR: %s\n' "$*" >&2
  exit 1
}

if [ -n "$OVERLAY" ]; then
  dir="$ROOT/deploy/kustomize/overlays/$OVERLAY"
  [ -d "$dir" ] || die "no overlay $OVERLAY (have: $(ls "$ROOT/deploy/kustomize/overlays" | tr '\n' ' '))"
else
  dir="$ROOT/deploy/kustomize/base"
fi

k version --client >/dev/null 2>&1 || die "$KUBECTL is not installed"
k get --raw /version >/dev/null 2>&1 || die "no cluster answers in the current context ($(k config current-context 2>/dev/null || echo none))"

if [ "${DRY_RUN:-}" = 1 ]; then
  log "dry run: rendering $dir and validating it on the server"
  k apply -k "$ROOT/deploy/crds" --dry-run=server >/dev/null
  k kustomize "$dir" | k apply --dry-run=server -f -
  exit 0
fi

# --- 1. CRDs ---------------------------------------------------------------------------------------
crds=(sandboxes.agenttier.io sandboxtemplates.agenttier.io clustersandboxtemplates.agenttier.io)
missing=0
for crd in "${crds[@]}"; do k get crd "$crd" >/dev/null 2>&1 || missing=1; done
if [ "$missing" = 1 ]; then
  log "installing the CRDs"
else
  log "CRDs present; re-applying them (they may be newer)"
fi
k apply --server-side --field-manager=agenttier-deploy -k "$ROOT/deploy/crds" >/dev/null
for crd in "${crds[@]}"; do
  k wait --for=condition=Established --timeout="${TIMEOUT}s" "crd/$crd" >/dev/null || die "CRD $crd is not Established"
done
log "CRDs Established: ${crds[*]}"

# --- 2. controller and router ------------------------------------------------------------------------
log "applying $(basename "$dir") manifests"
k kustomize "$dir" | k apply --server-side --field-manager=agenttier-deploy -f - >/dev/null
for d in agenttier-controller agenttier-router; do
  k -n "$NAMESPACE" rollout status "deploy/$d" --timeout="${TIMEOUT}s" >&2 || {
    k -n "$NAMESPACE" get pods -l app.kubernetes.io/name=agenttier -o wide >&2 || true
    die "deployment $d is not ready (images pushed? see docs/kubernetes.md)"
  }
done
k -n "$NAMESPACE" wait --for=condition=Available --timeout="${TIMEOUT}s" deploy/agenttier-controller >/dev/null ||
  die "the controller is not Available"
log "controller and router are ready"

# --- 3. a sandbox ------------------------------------------------------------------------------------
k get clustersandboxtemplate "$TEMPLATE" >/dev/null 2>&1 || die "template $TEMPLATE does not exist"
log "creating sandbox $SANDBOX_NAMESPACE/$SANDBOX from $TEMPLATE"
k apply -f - >/dev/null <<YAML
apiVersion: agenttier.io/v1alpha1
kind: Sandbox
metadata:
  name: $SANDBOX
  namespace: $SANDBOX_NAMESPACE
spec:
  templateRef:
    name: $TEMPLATE
    kind: ClusterSandboxTemplate
YAML
deadline=$((SECONDS + TIMEOUT))
phase=''
while [ "$SECONDS" -lt "$deadline" ]; do
  phase=$(k -n "$SANDBOX_NAMESPACE" get sandbox "$SANDBOX" -o jsonpath='{.status.phase}' 2>/dev/null || true)
  [ "$phase" = Running ] && break
  [ "$phase" = Error ] && break
  sleep 2
done
if [ "$phase" != Running ]; then
  k -n "$SANDBOX_NAMESPACE" get sandbox "$SANDBOX" -o wide >&2 || true
  k -n "$SANDBOX_NAMESPACE" describe pod "$SANDBOX-pod" >&2 || true
  die "sandbox $SANDBOX did not reach Running (phase: ${phase:-none})"
fi
log "sandbox $SANDBOX is Running"
k -n "$SANDBOX_NAMESPACE" get sandbox "$SANDBOX" -o wide >&2

if [ "${KEEP:-}" != 1 ]; then
  k -n "$SANDBOX_NAMESPACE" delete sandbox "$SANDBOX" --wait=true --timeout="${TIMEOUT}s" >/dev/null
  log "smoke-test sandbox deleted (KEEP=1 keeps it)"
fi

# --- 4. access ---------------------------------------------------------------------------------------
cat >&2 <<EOF

AgentTier is installed in namespace $NAMESPACE ($(basename "$dir")).
  kubectl get sandboxes -A                       # sb / sbx for short
  kubectl port-forward -n $NAMESPACE svc/agenttier-router 8080:8080
  AGENTTIER_URL=http://127.0.0.1:8080 agenttier sandbox list
The router answers 401 until authentication is configured (see docs/kubernetes.md).
EOF
