#!/usr/bin/env bash
# CPU per request of the ingest, robust on a busy machine: a server (Sparkngin from build/, or the
# bare Node server) under wrk -t1 -c64 single ~100-byte events; the server's own CPU (utime+stime of
# every thread, /proc/PID/stat) divided by the requests wrk completed. Rounds alternate.
#   bash bench/micro/ingest-cpu.sh [rounds=3] [seconds=5] [variants="sparkngin bare"]
# SPARKNGIN_BUNDLE=… times another build (e.g. main's); SPARKNGIN_YAML=… is added to its config;
# CPU_PROF=dir adds `node --cpu-prof`; INGEST_CPU_TMP=/dev/shm puts the data dir on tmpfs (a disk whose
# fdatasync costs nothing: what is left is the CPU).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}; seconds=${2:-5}; variants=${3:-sparkngin bare}
node=node_modules/node/bin/node
bundle=${SPARKNGIN_BUNDLE:-build/sparkngin.cjs}
tick=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
main_ticks() { awk '{print $14 + $15, $15}' "/proc/$1/task/$1/stat"; }
free_port() { "$node" -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
run() {
  local variant=$1 port dir pid
  port=$(free_port); dir=$(mktemp -d "${INGEST_CPU_TMP:-/tmp}/ingest-cpu-XXXXXX")
  if [ "$variant" = bare ]; then
    "$node" bench/bare-server.mjs "$port" & pid=$!
  else
    printf 'listen: {host: 127.0.0.1, port: %s}\ndataDir: %s/data\nsinks:\n  file: {enabled: false}\n  kafka: {enabled: false}\n%s\n' "$port" "$dir" "${SPARKNGIN_YAML:-}" >"$dir/c.yaml"
    "$node" ${CPU_PROF:+--cpu-prof --cpu-prof-dir=$CPU_PROF} "$bundle" start --config "$dir/c.yaml" 2>"$dir/err" & pid=$!
  fi
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done
  wrk -t1 -c64 -d2s -s bench/wrk/single.lua "http://127.0.0.1:$port/v1/topics/bench" >/dev/null
  local before after out reqs
  before=$(cpu_ticks "$pid"); mbefore=$(main_ticks "$pid")
  out=$(wrk -t1 -c64 -d"${seconds}s" -s bench/wrk/single.lua "http://127.0.0.1:$port/v1/topics/bench")
  after=$(cpu_ticks "$pid"); mafter=$(main_ticks "$pid")
  groups=$( [ "$variant" = bare ] || curl -s "http://127.0.0.1:$port/stats" | "$node" -e "let s='';process.stdin.on('data',c=>s+=c).on('end',()=>{const j=JSON.parse(s);console.log(j.spool.appendedRecords+'/'+j.spool.syncs)})" )
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$dir"
  awk -v v="$variant" -v r="$reqs" -v t="$((after - before))" -v hz="$tick" -v s="$seconds" -v bad="${non2xx:-0}" -v m="$((${mafter% *} - ${mbefore% *}))" -v ms="$((${mafter#* } - ${mbefore#* }))" -v g="${groups:-}" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
    'BEGIN { printf "%-10s %8d req  %6.0f req/s  %6.1f us CPU/req (main thread %5.1f, of it sys %5.1f)  records/syncs %s  non-2xx %s  load %s\n", v, r, r / s, t / hz * 1e6 / r, m / hz * 1e6 / r, ms / hz * 1e6 / r, g, bad, load }'
}
for _ in $(seq "$rounds"); do for v in $variants; do run "$v"; done; done
