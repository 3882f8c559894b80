#!/usr/bin/env bash
# Bundles bench/outage.ts and runs it: node build/bench-outage.mjs [outageSeconds] [eventsPerSecond]
set -euo pipefail
cd "$(dirname "$0")/.."
npm run -s build
npx esbuild bench/outage.ts --bundle --platform=node --format=esm --outfile=build/bench/outage.mjs --log-level=warning \
  --banner:js="import{createRequire}from'module';const require=createRequire(import.meta.url);"
exec node build/bench/outage.mjs "$@"
