#!/usr/bin/env bash
# The daemon's ingest threads, W of them, feeding one spool writer on a thread that serves nothing
# else (bench/micro/ingest-workers.ts), W = 1 and 2 alternating: W = 1 pinned to one core
# (taskset -c 0), W = 2 to two (-c 0,1); wrk (NDJSON x 100)
# unpinned. Prints one JSON line per run: events/s, CPU seconds per million events of the whole
# process and of the writer thread. On a machine with more cores, CORES1/CORES2 choose the sets;
# WRK_SCRIPT=single sends single events (the writer's cost per request) instead of NDJSON x 100.
#   bash bench/micro/ingest-workers.sh [rounds] [seconds]
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
rounds=${1:-3}
seconds=${2:-8}
npx esbuild bench/micro/ingest-workers.ts --bundle --platform=node --format=cjs --target=node22 --outfile=build/bench/ingest-workers.cjs --log-level=warning --define:SPARKNGIN_VERSION='"bench"' --define:SPARKNGIN_COMMIT='"bench"'
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for round in $(seq "$rounds"); do
  for workers in 1 2; do
    port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
    rm -rf "$work/spool"
    out="$work/out-$round-$workers"
    cores=$([ "$workers" = 1 ] && echo "${CORES1:-0}" || echo "${CORES2:-0,1}")
    taskset -c "$cores" node build/bench/ingest-workers.cjs "$workers" "$port" "$work/spool" "$seconds" >"$out" &
    pid=$!
    until grep -q ready "$out" 2>/dev/null; do sleep 0.1; done
    wrk -t2 -c64 -d"$((seconds + 1))"s -s "bench/wrk/${WRK_SCRIPT:-ndjson100}.lua" "http://127.0.0.1:$port/v1/topics/bench" >/dev/null
    wait "$pid"
    tail -1 "$out"
  done
done
