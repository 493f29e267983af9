#!/usr/bin/env bash
# A real Kubernetes control plane on loopback for tests: etcd + kube-apiserver + kube-controller-manager
# (+ kube-scheduler with WITH_SCHEDULER=1), a throwaway PKI and an admin kubeconfig. Runs CMD with
# KUBECONFIG set, then stops everything it started.
#
#   bash scripts/kube-start.sh CMD...        e.g.  bash scripts/kube-start.sh npx vitest run conformance.real
#
# Env: KUBE_VERSION (a folder in AGENTTIER_KUBE_DIR: v1.32.13 (default) or v1.26.1)
#      KUBE_CACHE (where the binaries are unpacked; default ${XDG_CACHE_HOME:-$HOME/.cache}/agenttier-kube-$KUBE_VERSION)
#      KCM_CONTROLLERS (default garbagecollector,namespace,serviceaccount-token,serviceaccount,root-ca-cert-publisher,service-ca-cert-publisher)
#      WITH_SCHEDULER=1, APISERVER_EXTRA="--flag …", KEEP_LOGS=dir (copy the logs there on exit)
#      APISERVER_BIND_ADDRESS (default 127.0.0.1; scripts/kube-node.sh uses 0.0.0.0 inside its own network
#      namespace so pods reach the API server), APISERVER_CERT_IPS (more IP SANs on the serving
#      certificate, comma-separated: the node IP and the `kubernetes` Service's cluster IP)
set -uo pipefail
# Adapted from ../shared/kube/start.sh (the binaries' own starter): the binaries come from
# AGENTTIER_KUBE_DIR, and the API server gets KUBE_READY_TIMEOUT_S (default 180) to become ready, not
# 60 s: on a loaded 2-CPU CI machine a start took longer.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE=${AGENTTIER_KUBE_DIR:-$ROOT/../shared/kube}
V=${KUBE_VERSION:-v1.32.13}
SRC=$HERE/$V
[ -d "$SRC" ] || { echo "kube: no version $V beside this script (have: $(cd "$HERE" && ls -d v*/ | tr -d / | tr '\n' ' '))" >&2; exit 1; }
BIN=${KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agenttier-kube-$V}
mkdir -p "$BIN"
for x in "$SRC"/*.xz; do b=$(basename "$x" .xz)
  [ -x "$BIN/$b" ] || { xz -dc "$x" > "$BIN/$b.tmp" && chmod +x "$BIN/$b.tmp" && mv "$BIN/$b.tmp" "$BIN/$b"; } || { echo "kube: cannot unpack $b" >&2; exit 1; }
done
(cd "$BIN" && sha256sum -c --quiet "$SRC/SHA256SUMS") || { echo "kube: checksum mismatch in $BIN" >&2; exit 1; }
ETCD=etcd; [ -x "$BIN/etcd" ] && ETCD=$BIN/etcd
if [ "$ETCD" = etcd ] && ! command -v etcd >/dev/null; then
  echo "kube: installing etcd-server from Debian" >&2
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq etcd-server >/dev/null 2>&1 || { apt-get -o DPkg::Lock::Timeout=300 update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq etcd-server >/dev/null; } || { echo "kube: cannot install etcd-server" >&2; exit 1; }
fi
command -v kubectl >/dev/null || echo "kube: note: no kubectl on PATH (readiness is checked with curl)" >&2
D=$(mktemp -d); P=$((30000 + RANDOM % 20000)); EP=$((P + 1)); TOKEN=admin-$RANDOM$RANDOM$RANDOM
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null
  [ -n "${KEEP_LOGS:-}" ] && mkdir -p "$KEEP_LOGS" && cp "$D"/*.log "$KEEP_LOGS"/ 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext "subjectAltName=IP:127.0.0.1$(ips=${APISERVER_CERT_IPS:-}; for ip in ${ips//,/ }; do printf ',IP:%s' "$ip"; done)" \
  -keyout "$D/tls.key" -out "$D/tls.crt" >/dev/null 2>&1
openssl genrsa -out "$D/sa.key" 2048 >/dev/null 2>&1; openssl rsa -in "$D/sa.key" -pubout -out "$D/sa.pub" >/dev/null 2>&1
echo "$TOKEN,admin,admin,system:masters" > "$D/tokens.csv"
"$ETCD" --data-dir "$D/etcd" --listen-client-urls http://127.0.0.1:$EP --advertise-client-urls http://127.0.0.1:$EP \
  --listen-peer-urls http://127.0.0.1:$((P + 2)) >"$D/etcd.log" 2>&1 & pids+=($!)
"$BIN/kube-apiserver" --etcd-servers http://127.0.0.1:$EP --bind-address "${APISERVER_BIND_ADDRESS:-127.0.0.1}" --secure-port $P \
  --advertise-address 127.0.0.1 --tls-cert-file "$D/tls.crt" --tls-private-key-file "$D/tls.key" \
  --token-auth-file "$D/tokens.csv" --authorization-mode Node,RBAC --service-account-key-file "$D/sa.pub" \
  --service-account-signing-key-file "$D/sa.key" --service-account-issuer https://kubernetes.default.svc \
  --service-cluster-ip-range 10.96.0.0/24 --allow-privileged=false ${APISERVER_EXTRA:-} >"$D/apiserver.log" 2>&1 & pids+=($!)
cat > "$D/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "https://127.0.0.1:$P", certificate-authority: "$D/tls.crt"}}]
users: [{name: admin, user: {token: "$TOKEN"}}]
contexts: [{name: local, context: {cluster: local, user: admin, namespace: default}}]
current-context: local
KC
export KUBECONFIG=$D/kubeconfig
for _ in $(seq $((${KUBE_READY_TIMEOUT_S:-180} * 2))); do curl -fsS --cacert "$D/tls.crt" -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$P/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fsS --cacert "$D/tls.crt" -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$P/readyz" >/dev/null 2>&1 || { tail -20 "$D/apiserver.log" >&2; echo "kube: apiserver not ready" >&2; exit 1; }
"$BIN/kube-controller-manager" --kubeconfig "$KUBECONFIG" --controllers "${KCM_CONTROLLERS:-garbagecollector,namespace,serviceaccount-token,serviceaccount,root-ca-cert-publisher,service-ca-cert-publisher}" \
  --service-account-private-key-file "$D/sa.key" --root-ca-file "$D/tls.crt" --leader-elect=false --bind-address 127.0.0.1 --secure-port 0 \
  >"$D/kcm.log" 2>&1 & pids+=($!)
if [ "${WITH_SCHEDULER:-}" = 1 ]; then
  "$BIN/kube-scheduler" --kubeconfig "$KUBECONFIG" --leader-elect=false --bind-address 127.0.0.1 --secure-port 0 >"$D/scheduler.log" 2>&1 & pids+=($!)
fi
echo "kube: Kubernetes $V at https://127.0.0.1:$P (KUBECONFIG=$KUBECONFIG, logs in $D)" >&2
"$@"
