#!/usr/bin/env bash
# The fixed ports of make run and the Dapr CLI (docs/configuration.md:
# sidecar gRPC 50010-50024, Sentry 50050-50051, the CLI's Sentry 50001 and
# placement 50005) lie inside Linux's ephemeral range (32768-60999), so an
# outgoing connection can take one just before a sidecar listens on it
# (seen once in CI: the CLI refused "Port 50014 is not available"). As
# root, this takes them out of the ephemeral range; otherwise it says how.
# Idempotent; other reservations are kept.
set -euo pipefail
want="50001,50005,50010-50024,50050-50051"
file=/proc/sys/net/ipv4/ip_local_reserved_ports
[[ -r "$file" ]] || exit 0
current="$(cat "$file")"
if [[ ",$current," == *",50010-50024,"* ]]; then
  exit 0
fi
if [[ $EUID -ne 0 || ! -w "$file" ]]; then
  echo "note: the stack's fixed ports are in the ephemeral range; to keep outgoing connections off them: sudo sysctl -w net.ipv4.ip_local_reserved_ports=$want" >&2
  exit 0
fi
echo "${current:+$current,}$want" > "$file"
