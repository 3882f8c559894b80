#!/usr/bin/env bash
# The benchmark's one entry point (`npm run bench`): installs what it needs (bench/setup.sh), runs
# every scenario (bench/run.sh), then writes the generated section of bench/RESULTS.md and the
# plots from the JSON of this run (bench/report.ts).
#   bash bench/run-all.sh                     smoke: short runs that check every scenario works
#   BENCH_MODE=full bash bench/run-all.sh     the numbers to quote: run it on a quiet machine
# Raw data: bench/results/$BENCH_MODE/*.json. Stops every process it started, however it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_MODE=${BENCH_MODE:-smoke}
bash bench/setup.sh
# The scenarios and the report on the repository's Node 22 (the confluent addon is built for the
# machine's Node 20 whatever comes first on PATH: build-confluent.sh).
export PATH="$PWD/node_modules/.bin:$PATH"
bash bench/run.sh "$@"
npx esbuild bench/report.ts --bundle --platform=node --format=esm --outfile=build/bench/report.mjs --log-level=warning
node build/bench/report.mjs "$BENCH_MODE"
