#!/usr/bin/env bash
# Cold start of the server, in the two shapes it runs in (bench/coldstart.mjs does the measuring):
#   - standalone: the Release build's executable, as `dotnet run` / a container would start it;
#   - Functions host: the published package as scripts/publish.sh lays it out (self-contained linux-x64 app/Crm.Functions,
#     started in app/ with FUNCTIONS_CUSTOMHANDLER_PORT, as host.json's customHandler tells the host to).
# For each: N starts, the median and max time from spawn to the first /parse/health 200 (fresh data folder) and to the
# first authenticated GET /parse/classes/Deal/:id 200 (a folder holding that user and deal), and the RSS after each.
#
#   bash bench/coldstart.sh [--starts N] [--no-build] [--only standalone|functions]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
starts=10 build=1 only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --starts) starts="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --only) only="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
work="$(mktemp -d /tmp/coldstart.XXXXXX)"
trap 'rm -rf "$work"' EXIT
results="$work/results.txt"
: > "$results"

if [ "$only" != functions ]; then
  if [ "$build" = 1 ]; then dotnet build "$root/Crm.Functions" -c Release -p:SkipWebBuild=true -v quiet -nologo >/dev/null; fi
  exe="$root/Crm.Functions/bin/Release/net10.0/Crm.Functions"
  [ -x "$exe" ] || { echo "no build at $exe (run without --no-build)" >&2; exit 2; }
  echo "== standalone: $starts starts of $exe" >&2
  EXE="$exe" STARTS="$starts" LABEL="standalone (Release build)" node "$root/bench/coldstart.mjs" >> "$results"
fi

if [ "$only" != standalone ]; then
  echo "== Functions host shape: publishing the package" >&2
  bash "$root/scripts/publish.sh" "$work/publish" >/dev/null
  echo "== Functions host shape: $starts starts of app/Crm.Functions" >&2
  EXE="$work/publish/package/app/Crm.Functions" CWD="$work/publish/package/app" PORT_ENV=FUNCTIONS_CUSTOMHANDLER_PORT \
    STARTS="$starts" LABEL="Functions package (self-contained)" node "$root/bench/coldstart.mjs" >> "$results"
fi

echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC')  Machine: $(nproc) x $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)  Load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| shape | starts | to /health 200: median / max ms | to first GET Deal 200: median / max ms | RSS after: /health / GET MB |"
echo "|---|---:|---:|---:|---:|"
while read -r json; do
  node -e 'const r = JSON.parse(process.argv[1]); console.log(`| ${r.label} | ${r.starts} | ${r.healthMedianMs} / ${r.healthMaxMs} | ${r.firstGetMedianMs} / ${r.firstGetMaxMs} | ${r.rssAfterHealthMb} / ${r.rssAfterFirstGetMb} |`)' "$json"
done < "$results"
