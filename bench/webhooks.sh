#!/usr/bin/env bash
# Webhook delivery figures: starts the Release build (SQLite, a throwaway data folder) and a receiver on loopback,
# registers an afterSave trigger pointing to it through /hooks, writes N creates with C concurrent writers, and prints
# events delivered per second and the change-to-arrival latency p50/p99 (bench/webhooks.mjs), with the load average,
# since the figure depends on what else the machine runs.
# Usage: bench/webhooks.sh [N=2000] [C=16]   (build first: dotnet build -c Release)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
total="${1:-2000}" writers="${2:-16}"
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
trap '[ -f "$work/server.log" ] && tail -n 20 "$work/server.log"' ERR
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
port="$(free_port)" key=bench-master-key-0123
# exec: the recorded pid is the server's own, so the cleanup stops the server and not only a subshell.
(cd "$work" && exec env ASPNETCORE_ENVIRONMENT=Production Parse__MasterKey="$key" Parse__DataFolder="$work/data" \
  Parse__Webhooks__AllowLoopback=true Parse__Accounts__AuthRequestsPerMinute=0 Crm__ApplyTemplate=false Logging__LogLevel__Default=Warning \
  dotnet "$root/Crm.Functions/bin/Release/net10.0/Crm.Functions.dll" --urls "http://127.0.0.1:$port" > "$work/server.log" 2>&1) &
pid=$!
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$port/parse/health" > /dev/null && break; sleep 0.2; done
curl -fs "http://127.0.0.1:$port/parse/health" > /dev/null || { echo "the server did not start" >&2; exit 1; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
node "$root/bench/webhooks.mjs" "http://127.0.0.1:$port/parse" "$key" "$total" "$writers"
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
