#!/usr/bin/env bash
# The one test command: installs what the tests need, then runs every test.
# Each folder under Crm.Functions.Tests/node/ is a small npm project a test drives (the Parse JS SDK,
# the Cosmos DB API server, ...); tests start and stop their own servers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# Page tests drive Debian's Chromium (no browser download happens anywhere).
if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (Debian package)"
  if [ "$(id -u)" = 0 ]; then apt_get="apt-get"; else apt_get="sudo apt-get"; fi
  $apt_get update -qq && DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq chromium >/dev/null
fi

for pkg in Crm.Functions.Tests/node/*/package.json; do
  [ -e "$pkg" ] || continue
  dir="$(dirname "$pkg")"
  echo "== npm install in $dir"
  if [ -f "$dir/package-lock.json" ]; then
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  else
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done

# The web app (web/): its packages, for the build (which also runs npm ci when they are missing) and for
# its Vitest unit tests, which the xunit suite runs (Crm.Functions.Tests/Web).
echo "== npm ci in web"
npm ci --prefix web --no-audit --no-fund --loglevel=error

# Each pass's output is kept in TestResults/<pass>.log; when a pass fails, its failed tests are printed again at the
# end, so the last lines of a long log (all a CI page may show) name them.
mkdir -p TestResults
run_pass() {
  local name="$1"; shift
  local log="TestResults/$name.log"
  if "$@" 2>&1 | tee "$log"; then return 0; fi
  echo "== $name FAILED; its failed tests:"
  awk '/^  (Passed|Skipped) / { printing = 0 } /^  Failed [A-Za-z_]/ { shown = 0; printing = 1 } printing && shown++ < 40 { print }' "$log"
  grep -E "^(Total tests|     Passed|     Failed|     Skipped):" "$log" || true
  return 1
}

echo "== dotnet test"
run_pass sqlite dotnet test Crm.Functions.sln -c Release --logger "console;verbosity=normal" "$@"

# The same suite again with the REST tests on the Cosmos store (the local Cosmos DB API server); the store
# contract tests already cover both stores, so this run adds the REST layer over Cosmos. The crash tests start
# their own SQLite server processes, so they run once, above. Some regression tests are about work that only
# the embedded store does in this process, so they run once too: LongStatementWallTimeTests, TooManySqlVariablesTests
# and DeepOrExpressionTreeTests (SQLite's statement interrupt and SQL translation limits; their 10,000-value and
# deeply nested queries hold the single-process local Cosmos API server for minutes, stalling every later test),
# and GraphQLRegexAliasAmplificationTests and BatchRegexAmplificationTests (in-process $regex time; Cosmos
# evaluates $regex on its own side, under its own limits).
echo "== dotnet test (CRM_TEST_STORE=cosmos)"
# Test classes run one after another here: the local Cosmos DB API server is one Node process shared by
# every test server. The pass must be green on the first try: a failure here is a fault, never re-run.
CRM_TEST_STORE=cosmos run_pass cosmos dotnet test Crm.Functions.sln -c Release --no-build \
  --filter "FullyQualifiedName!~Crm.Functions.Tests.Storage&FullyQualifiedName!~Crm.Functions.Tests.Reliability.CrashTests&FullyQualifiedName!~Crm.Functions.Tests.Regressions.LongStatementWallTimeTests&FullyQualifiedName!~Crm.Functions.Tests.Regressions.GraphQLRegexAliasAmplificationTests&FullyQualifiedName!~Crm.Functions.Tests.Regressions.BatchRegexAmplificationTests&FullyQualifiedName!~Crm.Functions.Tests.Regressions.TooManySqlVariablesTests&FullyQualifiedName!~Crm.Functions.Tests.Regressions.DeepOrExpressionTreeTests" \
  --logger "console;verbosity=normal" "$@" -- xUnit.ParallelizeTestCollections=false

# A short soak run on the Release build just tested: mixed load for 30 s, no errors, no climbing RSS.
echo "== soak (30 s)"
./bench/soak.sh --duration 30 --no-build

# The benchmark harness, in its smoke form (1 s per scenario, small seed, no timing assertions), so it
# cannot rot: it fails on any error or non-2xx answer. It installs wrk itself when missing.
echo "== bench smoke"
bash bench/run.sh --smoke
