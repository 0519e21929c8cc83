#!/usr/bin/env bash
# make verify-k8s-server (part of make test): a real kube-apiserver takes
# k8s/'s overlays. It builds kube-apiserver at K8S_VERSION from the Go
# module proxy into bin/ (204 s here the first time; the module's
# staging modules are not in its zip, so they are taken at their published
# versions), installs Debian's etcd-server when missing (as root), starts
# both on loopback in a temporary folder, installs the pinned Dapr CRDs,
# creates the namespace, and applies every rendered overlay with
# `kubectl apply --dry-run=server --validate=strict`: admission, defaulting
# and the CRDs' structural schemas, without running anything.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
k8s_version="${K8S_VERSION:-1.32.4}"
dapr_version="${DAPR_VERSION:-1.18.0}"
bin="$root/bin"
start=$SECONDS

if [[ ! -x "$bin/kube-apiserver" || "$(cat "$bin/.kube-apiserver.version" 2>/dev/null)" != "$k8s_version" ]]; then
  echo "building kube-apiserver $k8s_version from the Go module proxy (a few minutes)"
  src="$(scripts/module-dir.sh "k8s.io/kubernetes@v$k8s_version")"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  rm -rf "$work/vendor" "$work/go.work" "$work/go.work.sum"
  # staging modules: from ./staging (absent in the zip) to their releases
  sed -i -e '/=> \.\/staging\//d' -e "s#^\(\tk8s.io/[a-z-]*\) v0.0.0\$#\1 v0.${k8s_version#1.}#" "$work/go.mod"
  (cd "$work" && GOFLAGS=-mod=mod go build -o "$bin/kube-apiserver.tmp" ./cmd/kube-apiserver)
  mv "$bin/kube-apiserver.tmp" "$bin/kube-apiserver"
  echo "$k8s_version" > "$bin/.kube-apiserver.version"
  echo "built kube-apiserver in $((SECONDS - start))s"
fi
if ! command -v etcd >/dev/null; then
  [[ $EUID -eq 0 ]] || { echo "verify-k8s-server: needs etcd (apt-get install etcd-server)" >&2; exit 1; }
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
fi
scripts/verify-k8s.sh >/dev/null # renders .run/k8s/<overlay>.yaml and checks them first

tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
etcd --data-dir "$tmp/etcd" --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
  --listen-peer-urls http://127.0.0.1:23800 > "$tmp/etcd.log" 2>&1 &
pids+=($!)
openssl genrsa -out "$tmp/sa.key" 2048 2>/dev/null
token="$(openssl rand -hex 16)"
echo "$token,admin,admin,system:masters" > "$tmp/tokens.csv"
"$bin/kube-apiserver" --etcd-servers http://127.0.0.1:23790 --bind-address 127.0.0.1 --secure-port 26443 \
  --cert-dir "$tmp/certs" --token-auth-file "$tmp/tokens.csv" --authorization-mode RBAC \
  --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$tmp/sa.key" \
  --service-account-signing-key-file "$tmp/sa.key" --service-cluster-ip-range 10.96.0.0/16 > "$tmp/apiserver.log" 2>&1 &
pids+=($!)
kc=(kubectl --server https://127.0.0.1:26443 --token "$token" --insecure-skip-tls-verify)
for _ in $(seq 120); do "${kc[@]}" get --raw /readyz >/dev/null 2>&1 && break; sleep 1; done
"${kc[@]}" get --raw /readyz >/dev/null || { tail -20 "$tmp/apiserver.log"; exit 1; }
dapr_dir="$(scripts/module-dir.sh "github.com/dapr/dapr@v$dapr_version")"
"${kc[@]}" apply -f "$dapr_dir/charts/dapr/crds/" >/dev/null
"${kc[@]}" wait --for condition=established --timeout 60s crd --all >/dev/null
"${kc[@]}" create namespace qeetmart >/dev/null
"${kc[@]}" create namespace monitoring >/dev/null # k8s/observability
for f in .run/k8s/*.yaml; do
  echo "== kubectl apply --dry-run=server --validate=strict -f $f"
  "${kc[@]}" apply --dry-run=server --validate=strict -f "$f"
done
echo "verify-k8s-server passed in $((SECONDS - start))s"
