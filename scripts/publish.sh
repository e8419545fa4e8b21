#!/usr/bin/env bash
# Builds the Azure Functions deployment package of the custom handler:
#
#   <out>/package/                 the package as a folder (what `func start` runs locally)
#   <out>/crm-functions.zip        the same content as one zip: what azd (azure.yaml `dist`) and
#                                  `az functionapp deployment source config-zip` deploy
#
# Package layout (the Functions host expects host.json and <Name>/function.json at the root):
#   host.json
#   <Name>/function.json           every folder under functions/, HTTP and non-HTTP alike
#   app/                           the self-contained linux-x64 app; app/Crm.Functions is
#                                  host.json's customHandler.description.defaultExecutablePath
#
# Usage: scripts/publish.sh [out-dir]   (default: artifacts/)
# The build uses its own artifacts path under <out>/build, so it never touches the bin/ and obj/
# folders of a concurrent IDE or test build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/artifacts}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

package="$out/package"
zip="$out/crm-functions.zip"
rm -rf "$package" "$zip"
mkdir -p "$package"

echo "== dotnet publish (Release, linux-x64, self-contained)"
# The Functions host starts the app as a plain executable, so it must not depend on a .NET runtime
# being installed on the worker: self-contained, with an apphost named like the assembly.
# Without the web app: in Azure the Static Web App serves it, and azd packages the two services in parallel,
# so building web/dist here as well would race azd's own build of the web service into the same folder.
# ReadyToRun: the app's and its packages' code is compiled ahead of time (crossgen), so a cold start runs it instead of
# JIT-compiling it first: about a quarter less CPU from process start to the first answer (bench/README.md "Cold
# start"). The framework in a self-contained package is ReadyToRun already; the JIT still tiers hot code up as usual.
dotnet publish "$root/Crm.Functions/Crm.Functions.csproj" \
  -c Release -r linux-x64 --self-contained true \
  -p:UseAppHost=true -p:SkipWebBuild=true -p:PublishWebApp=false -p:PublishReadyToRun=true \
  --artifacts-path "$out/build" \
  -o "$package/app" \
  -nodeReuse:false --nologo -v quiet

[ ! -e "$package/app/wwwroot" ] || { echo "publish: the package must not carry the web app (app/wwwroot): the Static Web App serves it" >&2; exit 1; }

echo "== function folders and host.json"
cp "$root/host.json" "$package/host.json"
found=0
for dir in "$root"/functions/*/; do
  [ -f "$dir/function.json" ] || continue
  name="$(basename "$dir")"
  mkdir -p "$package/$name"
  cp "$dir"/* "$package/$name/"
  found=$((found + 1))
done
[ "$found" -gt 0 ] || { echo "publish: no functions/*/function.json found" >&2; exit 1; }

# The executable named in host.json must exist and be executable, or the host fails at start
# with an error that only shows up in Azure.
exe_rel="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["customHandler"]["description"]["defaultExecutablePath"])' "$package/host.json")"
[ -f "$package/$exe_rel" ] || { echo "publish: $exe_rel (host.json defaultExecutablePath) is missing from the package" >&2; exit 1; }
chmod 755 "$package/$exe_rel"
# Local files must never ship: settings with secrets, and a SQLite file from a local run.
rm -f "$package/local.settings.json" "$package/app/local.settings.json"
rm -rf "$package/app/data"

echo "== zip"
# zip keeps Unix permissions, so the executable bit of the handler survives into Azure.
(cd "$package" && zip -q -r -X "$zip" .)
echo "publish: $found functions, $(du -h "$zip" | cut -f1) -> $zip"
