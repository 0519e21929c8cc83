#!/usr/bin/env bash
# Builds the pinned Dapr runtime (daprd with every component, as the official
# releases, and sentry for mTLS) from the Go module proxy into bin/, only when
# a binary is missing or was built for another version.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
# The environment, else .env (see .env.example), else the pinned version.
from_env_file=""
[[ -f "$root/.env" ]] && from_env_file="$(sed -n 's/^DAPR_VERSION=//p' "$root/.env" | tail -n 1)"
version="${DAPR_VERSION:-$from_env_file}"
version="${version:-1.18.0}"
bin="$root/bin"
mkdir -p "$bin"

built_for() { # the version a binary was built for, from its stamp
  cat "$bin/.$1.version" 2>/dev/null || true
}

todo=()
for cmd in daprd sentry; do
  if [[ -x "$bin/$cmd" && "$(built_for "$cmd")" == "$version" ]]; then
    continue
  fi
  todo+=("$cmd")
done
[[ ${#todo[@]} -eq 0 ]] && exit 0

echo "building Dapr $version (${todo[*]}) from the Go module proxy; the first build downloads ~2 GB of modules and takes several minutes"
go mod download "github.com/dapr/dapr@v$version"
src="$(go env GOMODCACHE)/github.com/dapr/dapr@v$version"
for cmd in "${todo[@]}"; do
  tags=""
  [[ "$cmd" == daprd ]] && tags="-tags allcomponents"
  start=$SECONDS
  # The module's replace directives need -mod=mod; `go install` refuses them.
  (cd "$src" && GOFLAGS=-mod=mod go build $tags \
    -ldflags "-X github.com/dapr/dapr/pkg/buildinfo.version=$version" \
    -o "$bin/$cmd.tmp" "./cmd/$cmd")
  mv "$bin/$cmd.tmp" "$bin/$cmd"
  echo "$version" > "$bin/.$cmd.version"
  echo "built bin/$cmd $version in $((SECONDS - start))s"
done
"$bin/daprd" --version
