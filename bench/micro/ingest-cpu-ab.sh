#!/usr/bin/env bash
# A/B of the ingest's CPU per single-event request between two builds, fine-grained so that a busy
# machine's load falls on both alike: both daemons run at once (data dirs on $INGEST_CPU_TMP, default
# /tmp), wrk -t1 -c64 posts to one and then the other in bursts of $SECS seconds (default 2), $BURSTS
# times each (default 8); per burst, the daemon's CPU (utime+stime of all its threads from
# /proc/PID/stat) over wrk's completed requests. Prints every burst, the medians and the median of
# the paired differences (burst by burst, B against the A next to it).
#   bash bench/micro/ingest-cpu-ab.sh A.cjs B.cjs     (SPARKNGIN_YAML=… is added to both configs,
#   SPARKNGIN_YAML_B=… to B's instead, NODE_OPTIONS_B=… B's Node options instead of NODE_OPTIONS: one build against itself
#   with another setting)
#   WRK_SCRIPT=ndjson100 posts bench/wrk/ndjson100.lua instead of single.lua.
set -euo pipefail
cd "$(dirname "$0")/../.."
node=node_modules/node/bin/node
secs=${SECS:-2}; bursts=${BURSTS:-8}; tick=$(getconf CLK_TCK)
free_port() { "$node" -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
declare -a pids ports dirs
for i in 0 1; do
  ports[$i]=$(free_port); dirs[$i]=$(mktemp -d "${INGEST_CPU_TMP:-/tmp}/ingest-ab-XXXXXX")
  printf 'listen: {host: 127.0.0.1, port: %s}\ndataDir: %s/data\nsinks:\n  file: {enabled: false}\n  kafka: {enabled: false}\n%s\n' "${ports[$i]}" "${dirs[$i]}" "$([ "$i" = 1 ] && echo "${SPARKNGIN_YAML_B-${SPARKNGIN_YAML:-}}" || echo "${SPARKNGIN_YAML:-}")" >"${dirs[$i]}/c.yaml"
  bundle=$1; [ "$i" = 1 ] && bundle=$2
  options=${NODE_OPTIONS:-}; [ "$i" = 1 ] && options=${NODE_OPTIONS_B-$options}
  NODE_OPTIONS=$options "$node" "$bundle" start --config "${dirs[$i]}/c.yaml" 2>"${dirs[$i]}/err" & pids[$i]=$!
done
trap 'kill -TERM ${pids[0]} ${pids[1]} 2>/dev/null; wait; rm -rf ${dirs[0]} ${dirs[1]}' EXIT
for i in 0 1; do
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:${ports[$i]}/health" && break; sleep 0.1; done
  wrk -t1 -c64 -d2s -s bench/wrk/${WRK_SCRIPT:-single}.lua "http://127.0.0.1:${ports[$i]}/v1/topics/bench" >/dev/null
done
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
results=$(mktemp)
for b in $(seq "$bursts"); do
  for i in 0 1; do
    before=$(ticks "${pids[$i]}")
    reqs=$(wrk -t1 -c64 -d"${secs}s" -s bench/wrk/${WRK_SCRIPT:-single}.lua "http://127.0.0.1:${ports[$i]}/v1/topics/bench" | awk '/requests in/ {print $1}')
    after=$(ticks "${pids[$i]}")
    awk -v i="$i" -v r="$reqs" -v t="$((after - before))" -v hz="$tick" 'BEGIN { printf "%s %.2f %d\n", i, t / hz * 1e6 / r, r }' | tee -a "$results" >/dev/null
  done
done
for i in 0 1; do
  name=$1; [ "$i" = 1 ] && name=$2
  awk -v i="$i" '$1 == i {print $2, $3}' "$results" | sort -n | awk -v n="$name" -v s="$secs" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
    '{ us[NR] = $1; rq += $2; all = all " " $1 } END { printf "%-28s median %6.2f us CPU/req  (bursts:%s)  %.0f req/s  load %s\n", n, (NR % 2 ? us[(NR + 1) / 2] : (us[NR / 2] + us[NR / 2 + 1]) / 2), all, rq / NR / s, load }'
done
# Paired: burst b of B against burst b of A (next to each other in time), the median difference.
paste -d' ' <(awk '$1 == 0 {print $2}' "$results") <(awk '$1 == 1 {print $2}' "$results") | awk '{ print $2 - $1 }' | sort -n \
  | awk '{ d[NR] = $1 } END { printf "B - A, paired by burst: median %+.2f us CPU/req\n", (NR % 2 ? d[(NR + 1) / 2] : (d[NR / 2] + d[NR / 2 + 1]) / 2) }'
rm -f "$results"
