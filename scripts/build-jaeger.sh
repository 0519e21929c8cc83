#!/usr/bin/env bash
# Builds Jaeger v2 (cmd/jaeger), the trace backend of make observe, from the
# Go module proxy into bin/jaeger, only when it is missing or was built for
# another version. The version is pinned by observe/jaeger/go.mod (a module
# of its own, so its dependencies stay out of the platform's); about 8 min
# on a cold 2-core machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="$(sed -n 's|^\s*github.com/jaegertracing/jaeger \(v[^ ]*\).*|\1|p' "$root/observe/jaeger/go.mod" | head -n 1)"
stamp="$root/bin/.jaeger.version"
if [[ -x "$root/bin/jaeger" && "$(cat "$stamp" 2>/dev/null)" == "$version" ]]; then
  exit 0
fi
mkdir -p "$root/bin"
echo "building Jaeger $version from the Go module proxy (a few minutes the first time)"
start=$(date +%s)
(cd "$root/observe/jaeger" && go build -o "$root/bin/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger)
echo "$version" > "$stamp"
echo "built bin/jaeger $version in $(( $(date +%s) - start ))s"
