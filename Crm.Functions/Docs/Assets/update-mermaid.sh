#!/usr/bin/env bash
# Refreshes the bundled mermaid.min.js from the npm package pinned in Crm.Functions.Tests/node/mermaid,
# so the page renders with the same mermaid version the tests parse with.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pkg="$here/../../../Crm.Functions.Tests/node/mermaid"
npm ci --prefix "$pkg" --no-audit --no-fund --loglevel=error
cp "$pkg/node_modules/mermaid/dist/mermaid.min.js" "$here/mermaid.min.js"
echo "mermaid $(node -p "require('$pkg/node_modules/mermaid/package.json').version") copied to $here/mermaid.min.js"
