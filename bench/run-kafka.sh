#!/usr/bin/env bash
# Bundles bench/kafka-throughput.ts and runs it: bench/run-kafka.sh [events]
set -euo pipefail
cd "$(dirname "$0")/.."
npm run -s build
npx esbuild bench/kafka-throughput.ts --bundle --platform=node --format=esm --outfile=build/bench/kafka-throughput.mjs --log-level=warning \
  --banner:js="import{createRequire}from'module';const require=createRequire(import.meta.url);"
exec node build/bench/kafka-throughput.mjs "$@"
