#!/usr/bin/env bash
# Regenerates the GraphiQL page's assets from npm (pinned versions below) as gzip files next to this script.
#
# Why committed, built files rather than an npm step in the build: `dotnet run --project Crm.Functions` must
# work on a fresh clone with nothing but the .NET SDK (and offline, as on the test machines), and the Azure
# Functions package must carry the page too. The assets are embedded in the assembly and served by the app
# (GET /graphql/assets/*), never from a CDN. Stored gzipped (about 1 MB instead of 4 MB); served as is to
# browsers that accept gzip, decompressed for the others.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error graphiql@3.8.3 react@18.3.1 react-dom@18.3.1 graphql@16.11.0
for f in graphiql/graphiql.min.js graphiql/graphiql.min.css react/umd/react.production.min.js react-dom/umd/react-dom.production.min.js; do
  gzip -9 -n -c "node_modules/$f" > "$here/$(basename "$f").gz"
done
echo "GraphiQL assets updated in $here"
