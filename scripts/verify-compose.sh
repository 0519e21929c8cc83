#!/usr/bin/env bash
# make verify-compose: check docker-compose.yml without a Docker engine.
# `docker-compose config` (Debian's docker-compose, installed when missing
# and root) parses and resolves it with throwaway settings, and must refuse
# it without them; then a Go test checks that every app sits beside its own
# sidecar and every mounted file exists (internal/stack).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if command -v docker-compose >/dev/null; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "installing Debian's docker-compose (for 'docker-compose config' only)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
  compose=(docker-compose)
else
  echo "verify-compose: needs docker-compose (apt-get install docker-compose) or Docker's compose plugin" >&2
  exit 1
fi

env="$(mktemp)"
trap 'rm -f "$env"' EXIT
{
  for app in GATEWAY AUTH USER PRODUCT INVENTORY; do
    echo "${app}_APP_TOKEN=app-token-$app"
    echo "${app}_API_TOKEN=api-token-$app"
  done
  echo 'DAPR_TRUST_ANCHORS="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"'
} > "$env"

"${compose[@]}" --env-file "$env" -f docker-compose.yml config -q
"${compose[@]}" --env-file "$env" -f docker-compose.yml --profile observability config -q
if "${compose[@]}" --env-file /dev/null -f docker-compose.yml config -q 2>/dev/null; then
  echo "verify-compose: docker-compose.yml resolved without its tokens; they must be required" >&2
  exit 1
fi
go test -count=1 -run 'TestCompose' ./internal/stack/
echo "verify-compose passed"
