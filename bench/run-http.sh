#!/usr/bin/env bash
# Ingest over HTTP, Sparkngin beside nginx `return 204` (1 worker) and a bare Node server, in one run
# on the same machine: single ~100-byte JSON events and NDJSON batches of 100, 64 keep-alive
# connections, wrk with 2 threads. Sparkngin runs with its defaults (ack after fdatasync, group
# commit) and the file sink off, so that what is measured is ingest into the spool.
# wrk and the servers share the machine's cores; say so when quoting the numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run -s build
work=$(mktemp -d /tmp/sparkngin-bench-XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
nginx_port=$(port); bare_port=$(port); spark_port=$(port)
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $work/body; server { listen 127.0.0.1:$nginx_port; location / { return 204; } } }
CONF
nginx -c "$work/nginx.conf" & pids+=($!)
node bench/bare-server.mjs "$bare_port" & pids+=($!)
node build/sparkngin.cjs start --port "$spark_port" --data-dir "$work/data" --set sinks.file.enabled=false 2>"$work/sparkngin.log" & pids+=($!)
sleep 2
duration=${BENCH_SECONDS:-15}
for scenario in single ndjson100; do
  for target in "nginx $nginx_port" "bare-node $bare_port" "sparkngin $spark_port"; do
    set -- $target
    wrk -t2 -c64 -d5s -s "bench/wrk/$scenario.lua" "http://127.0.0.1:$2/v1/topics/bench" >/dev/null
    echo "== $scenario $1 (wrk -t2 -c64 -d${duration}s --latency)"
    wrk -t2 -c64 -d"${duration}s" --latency -s "bench/wrk/$scenario.lua" "http://127.0.0.1:$2/v1/topics/bench" | grep -E "Requests/sec|Latency  |50%|90%|99%"
  done
done
echo "== sparkngin RSS after the run: $(grep VmRSS /proc/"${pids[2]}"/status | awk '{print $2/1024 " MB"}')"
