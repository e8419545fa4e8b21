#!/usr/bin/env bash
# Upload and download throughput of Parse files, 1 MB and 20 MB, on each file store (a folder; Blob Storage on
# Azurite). Starts the Release build and an in-memory Azurite on loopback, times each transfer with curl, prints MB/s.
# Usage: bench/files.sh [repetitions]   (build first: dotnet build -c Release)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
reps="${1:-3}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
# On a failure, show what the servers said before the folder goes.
trap 'tail -n 20 "$work"/server-*.log "$work/azurite.log" 2>/dev/null' ERR
head -c $((1024 * 1024)) /dev/urandom > "$work/1mb.bin"
head -c $((20 * 1024 * 1024)) /dev/urandom > "$work/20mb.bin"

node "$root/Crm.Functions.Tests/node/azurite/node_modules/azurite/dist/src/blob/main.js" --blobHost 127.0.0.1 --blobPort 0 \
  --inMemoryPersistence --skipApiVersionCheck --loose --silent --disableTelemetry > "$work/azurite.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "successfully listens" "$work/azurite.log" && break; sleep 0.1; done
blob="$(grep -o 'http://127.0.0.1:[0-9]*' "$work/azurite.log" | head -1)/devstoreaccount1"
key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

run() { # store port extra-env...
  local store="$1" port="$2"; shift 2
  # exec: the recorded pid is the server's own, so the cleanup stops the server and not only a subshell.
  (cd "$work" && exec env ASPNETCORE_ENVIRONMENT=Development Parse__MasterKey=bench-master-key-0123 Parse__DataFolder="$work/data-$store" \
    Parse__Files__Store="$store" "$@" dotnet "$root/Crm.Functions/bin/Release/net10.0/Crm.Functions.dll" --urls "http://127.0.0.1:$port" > "$work/server-$store.log" 2>&1) &
  pids+=($!)
  for _ in $(seq 300); do curl -fs "http://127.0.0.1:$port/parse/health" > /dev/null && break; sleep 0.2; done
  curl -fs "http://127.0.0.1:$port/parse/health" > /dev/null || { echo "the $store server did not start" >&2; return 1; }
  for size in 1mb 20mb; do
    for i in $(seq "$reps"); do
      up="$(curl -s -o "$work/up.json" -w '%{time_total}' -X POST -H 'X-Parse-Application-Id: crm' -H 'X-Parse-Master-Key: bench-master-key-0123' \
        -H 'Content-Type: application/octet-stream' --data-binary "@$work/$size.bin" "http://127.0.0.1:$port/parse/files/$size.bin")"
      grep -q '"url"' "$work/up.json" || { echo "upload failed: $(cat "$work/up.json")" >&2; return 1; }
      url="$(sed 's/.*"url":"\([^"]*\)".*/\1/' "$work/up.json")"
      down="$(curl -s -o /dev/null -w '%{time_total}' "$url")"
      bytes=$(stat -c %s "$work/$size.bin")
      awk -v s="$store" -v z="$size" -v u="$up" -v d="$down" -v b="$bytes" -v i="$i" \
        'BEGIN { printf "%-6s %-5s run %d  upload %7.1f MB/s (%.3f s)  download %7.1f MB/s (%.3f s)\n", s, z, i, b/1048576/u, u, b/1048576/d, d }'
    done
  done
}
# Free ports from the kernel: fixed ones may be taken by another server on a shared machine.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
run local "$(free_port)"
run blob "$(free_port)" Parse__Files__Blob__ConnectionString="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=$blob;"
