#!/usr/bin/env bash
# Builds the pinned Dapr runtime (daprd with the components the platform
# uses, tools/daprd, or with every component as the official releases when
# DAPR_COMPONENTS=all; and sentry for mTLS) from the Go module proxy into
# bin/, only when a binary is missing or was built for another version or
# component set.
#
#   scripts/build-dapr.sh        daprd and sentry
#   scripts/build-dapr.sh cli    also placement and the Dapr CLI (bin/dapr):
#                                CLI_VERSION, default 1.12.0, the newest the
#                                module proxy serves here
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

# daprd carries only the components the platform uses (tools/daprd), unless
# DAPR_COMPONENTS=all asks for Dapr's official allcomponents build.
components_env=""
[[ -f "$root/.env" ]] && components_env="$(sed -n 's/^DAPR_COMPONENTS=//p' "$root/.env" | tail -n 1)"
components="${DAPR_COMPONENTS:-${components_env:-qeetmart}}"
[[ "$components" == qeetmart || "$components" == all ]] || { echo "DAPR_COMPONENTS must be qeetmart or all" >&2; exit 2; }
stamp() { # what bin/.<cmd>.version says of a build of cmd
  if [[ "$1" == daprd ]]; then echo "$version $components"; else echo "$version"; fi
}

cmds=(daprd sentry)
[[ "${1:-}" == cli ]] && cmds+=(placement)
todo=()
for cmd in "${cmds[@]}"; do
  if [[ -x "$bin/$cmd" && "$(built_for "$cmd")" == "$(stamp "$cmd")" ]]; then
    continue
  fi
  todo+=("$cmd")
done
build_cli() {
  local v="${CLI_VERSION:-1.12.0}"
  [[ -x "$bin/dapr" && "$(built_for dapr)" == "$v" ]] && return 0
  echo "building the Dapr CLI $v from the Go module proxy (a few minutes)"
  go mod download "github.com/dapr/cli@v$v"
  local start=$SECONDS
  (cd "$(go env GOMODCACHE)/github.com/dapr/cli@v$v" && GOFLAGS=-mod=mod go build \
    -ldflags "-X main.version=$v -X main.apiVersion=1.0" -o "$bin/dapr.tmp" .)
  mv "$bin/dapr.tmp" "$bin/dapr"
  echo "$v" > "$bin/.dapr.version"
  echo "built bin/dapr $v in $((SECONDS - start))s"
}
[[ "${1:-}" == cli ]] && build_cli
[[ ${#todo[@]} -eq 0 ]] && exit 0

echo "building Dapr $version (${todo[*]}) from the Go module proxy; the first build downloads ~2 GB of modules and takes several minutes"
go mod download "github.com/dapr/dapr@v$version"
src="$(go env GOMODCACHE)/github.com/dapr/dapr@v$version"
for cmd in "${todo[@]}"; do
  dir="$src" flags=()
  if [[ "$cmd" == daprd && "$components" == all ]]; then
    flags=(-tags allcomponents)
  elif [[ "$cmd" == daprd ]]; then
    # A copy of the module (the module cache is read-only, and go build
    # refuses overlays of it) with Dapr's registrations swapped for ours.
    dir="$root/.run/dapr-src-$version"
    if [[ ! -f "$dir/.copied" ]]; then
      rm -rf "$dir" && mkdir -p "$dir"
      cp -R "$src/." "$dir/" && chmod -R u+w "$dir" && touch "$dir/.copied"
    fi
    rm -f "$dir"/cmd/daprd/components/*.go
    cp "$root/tools/daprd/components.go" "$dir/cmd/daprd/components/qeetmart.go"
  fi
  start=$SECONDS
  # The module's replace directives need -mod=mod; `go install` refuses them.
  (cd "$dir" && GOFLAGS=-mod=mod go build "${flags[@]}" \
    -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$version" \
    -o "$bin/$cmd.tmp" "./cmd/$cmd")
  mv "$bin/$cmd.tmp" "$bin/$cmd"
  stamp "$cmd" > "$bin/.$cmd.version"
  echo "built bin/$cmd $(stamp "$cmd") in $((SECONDS - start))s ($(du -m "$bin/$cmd" | cut -f1) MB)"
done
"$bin/daprd" --version
