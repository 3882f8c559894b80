#!/usr/bin/env bash
# Builds the daemon, bundles the benchmark and runs the named scenarios (all when none is named):
#   bash bench/run.sh [ingest] [scaling] [startup] [clients-support] [e2e] [drain] [kill9] [outage] [clients] [client] [client-throughput] [sinks]
# BENCH_MODE=smoke (default: short runs, to check the harness) or full (the numbers to quote).
# Results: bench/results/$BENCH_MODE/<scenario>.json. bench/setup.sh must have run once.
set -euo pipefail
cd "$(dirname "$0")/.."
# The repository's pinned Node (the `node` devDependency, what the daemon and executables run on).
export PATH="$PWD/node_modules/.bin:$PATH"
npm run -s build
npx esbuild bench/main.ts --bundle --platform=node --format=esm --outfile=build/bench/main.mjs --log-level=warning \
  --external:kafkajs --banner:js="import{createRequire}from'module';const require=createRequire(import.meta.url);"
exec node build/bench/main.mjs "$@"
