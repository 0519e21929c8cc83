#!/usr/bin/env bash
# make verify-k8s: render k8s/'s overlays and check them without a cluster.
#  1. the Dapr resources in k8s/base/dapr and compose/dapr are fresh renders
#     of components/ and dapr/, and the same resources make run uses;
#  2. kustomize (pinned, built from the Go module proxy into bin/) renders
#     each overlay, and k8s/observability;
#  3. kubeconform validates every resource strictly against JSON schemas
#     generated (k8s/verify/schemas) from the pinned dapr module's CRDs and
#     Kubernetes' OpenAPI spec (k8s.io/kubernetes at K8S_VERSION);
#  4. a Go test renders each Deployment through Dapr's own injector code
#     (pkg/injector/patcher at the pinned version) and checks the sidecar.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
dapr_version="${DAPR_VERSION:-1.18.0}"
k8s_version="${K8S_VERSION:-1.32.4}"
kustomize_version=5.5.0
kubeconform_version=0.8.0
bin="$root/bin"
out="$root/.run/k8s"
mkdir -p "$bin" "$out"
start=$SECONDS

install_tool() { # name module version
  if [[ -x "$bin/$1" && "$(cat "$bin/.$1.version" 2>/dev/null)" == "$3" ]]; then return 0; fi
  echo "building $1 $3 from the Go module proxy"
  GOBIN="$bin" go install "$2@v$3"
  echo "$3" > "$bin/.$1.version"
}
install_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$kustomize_version"
install_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$kubeconform_version"

echo "1. committed renders fresh, same resources as make run"
go test -count=1 -run 'TestCommittedRendersAreFresh|TestKubernetes|TestCompose' ./internal/stack/

schemas="$out/schemas-k8s$k8s_version-dapr$dapr_version"
if [[ ! -f "$schemas/.done" ]]; then
  echo "generating schemas: Kubernetes $k8s_version, Dapr $dapr_version CRDs"
  k8s_dir="$(scripts/module-dir.sh "k8s.io/kubernetes@v$k8s_version")"
  dapr_dir="$(scripts/module-dir.sh "github.com/dapr/dapr@v$dapr_version")"
  rm -rf "$schemas"
  (cd k8s/verify && go run ./schemas -swagger "$k8s_dir/api/openapi-spec/swagger.json" \
    -crds "$dapr_dir/charts/dapr/crds" -out "$schemas")
  touch "$schemas/.done"
fi

echo "2, 3. render each overlay and validate it strictly"
manifests=()
for overlay in k8s/overlays/*/; do
  name="$(basename "$overlay")"
  "$bin/kustomize" build "$overlay" > "$out/$name.yaml"
  manifests+=("$out/$name.yaml")
done
# k8s/observability too: the dashboards (Dapr's from the pinned module) and scrape jobs
scripts/dashboards.sh
"$bin/kustomize" build k8s/observability > "$out/observability.yaml"
"$bin/kubeconform" -strict -summary -kubernetes-version "$k8s_version" \
  -schema-location "$schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" "${manifests[@]}" "$out/observability.yaml"

echo "4. the sidecar Dapr's injector gives each app"
(cd k8s/verify && K8S_MANIFESTS="$(IFS=,; echo "${manifests[*]}")" go test -count=1 ./...)
echo "verify-k8s passed in $((SECONDS - start))s"
