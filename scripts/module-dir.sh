#!/usr/bin/env bash
# Prints the folder of a module@version in the Go module cache, downloading
# it first from the module proxy when it is not there yet (as
# scripts/build-dapr.sh reads the Dapr module). For all-lowercase module
# paths: the cache escapes capital letters.
#   scripts/module-dir.sh github.com/dapr/dapr@v1.18.0
set -euo pipefail
[[ $# -eq 1 && "$1" == *@v* ]] || { echo "usage: $0 module@version" >&2; exit 2; }
go mod download "$1"
echo "$(go env GOMODCACHE)/$1"
