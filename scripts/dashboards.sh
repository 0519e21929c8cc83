#!/usr/bin/env bash
# make dashboards: Dapr's three Grafana dashboards, from the pinned dapr
# module, into observe/dashboards beside QeetMart's own (not committed:
# they are Dapr's, at the version the platform runs).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$("$root/scripts/module-dir.sh" "github.com/dapr/dapr@v${DAPR_VERSION:-1.18.0}")"
install -m 0644 "$dir"/grafana/grafana-*.json "$root/observe/dashboards/"
