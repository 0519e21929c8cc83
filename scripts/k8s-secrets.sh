#!/usr/bin/env bash
# Creates each app's two token Secrets in the cluster (namespace qeetmart,
# or $NAMESPACE): <app>-app-token (the sidecar presents it to the app) and
# <app>-api-token (the app presents it to its sidecar), key "token", random.
# Existing Secrets are kept, so running it again changes nothing. Needs
# kubectl pointed at the cluster, and openssl.
set -euo pipefail
ns="${NAMESPACE:-qeetmart}"
kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"
for app in gateway auth user product inventory; do
  for kind in app api; do
    name="$app-$kind-token"
    if kubectl -n "$ns" get secret "$name" >/dev/null 2>&1; then
      echo "secret $name exists, kept"
      continue
    fi
    kubectl -n "$ns" create secret generic "$name" --from-literal=token="$(openssl rand -hex 24)"
  done
done
