#!/bin/sh
# azd's prebuild hook of the web service: the SPA is built for the Function App's API, whose URL azd exports
# to hooks as SERVICE_API_URI once `azd provision` has run. Without it the build would silently point the
# app at its own Static Web App origin, where no API answers — so stop with a message instead.
set -eu
if [ -z "${SERVICE_API_URI:-}" ]; then
  echo "api-root.sh: SERVICE_API_URI is empty; run 'azd provision' before packaging the web app ('azd up' does, in that order)." >&2
  exit 1
fi
printf 'VITE_API_ROOT=%s\n' "$SERVICE_API_URI" > .env.production.local
echo "api-root.sh: the web app will call $SERVICE_API_URI"
