#!/usr/bin/env bash
# What ingest security costs: the same daemon build, one instance per setting, measured in one run
# with wrk (single ~100-byte JSON events, 64 keep-alive connections, 2 threads): plain (defaults),
# token auth (Bearer token, SHA-256 per request), token auth + rate limits (limits high enough never
# to refuse: the bucket bookkeeping alone), and HTTPS (TLS 1.3, a P-256 certificate from a throw-away
# CA; wrk keeps connections, so this is the record layer, not handshakes). File sink off. Then the
# CPU cost of the access checks alone (bench/access-cost.ts).
# wrk and the daemons share the machine's cores; say so when quoting the numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run -s build
work=$(mktemp -d /tmp/sparkngin-bench-sec-XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

token=$(node build/sparkngin.cjs token new --name bench | head -1)
hash=$(printf '%s' "$token" | node build/sparkngin.cjs token hash)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null

start() { # name port extra-flags...
  local name=$1 p=$2; shift 2
  node build/sparkngin.cjs start --port "$p" --data-dir "$work/$name" --set sinks.file.enabled=false "$@" 2>"$work/$name.log" & pids+=($!)
}
plain=$(port); auth=$(port); limited=$(port); tls=$(port)
start plain "$plain"
start auth "$auth" --set "auth.tokens=[{\"name\":\"bench\",\"sha256\":\"$hash\",\"topics\":[\"*\"]}]"
start limited "$limited" --set "auth.tokens=[{\"name\":\"bench\",\"sha256\":\"$hash\",\"topics\":[\"*\"]}]" \
  --set rateLimit.requestsPerSecond=1000000 --set rateLimit.eventsPerSecond=1000000 --set rateLimit.bytesPerSecond=1GiB
start tls "$tls" --set "tls.cert=$work/cert.pem" --set "tls.key=$work/key.pem"
sleep 2
printf 'wrk.headers["Authorization"]="Bearer %s"\n' "$token" | cat bench/wrk/single.lua - > "$work/auth.lua"
duration=${BENCH_SECONDS:-15}
for target in "plain http $plain bench/wrk/single.lua" "token http $auth $work/auth.lua" "token+limits http $limited $work/auth.lua" "tls https $tls bench/wrk/single.lua"; do
  set -- $target
  wrk -t2 -c64 -d5s -s "$4" "$2://127.0.0.1:$3/v1/topics/bench" >/dev/null
  echo "== $1 (wrk -t2 -c64 -d${duration}s --latency)"
  wrk -t2 -c64 -d"${duration}s" --latency -s "$4" "$2://127.0.0.1:$3/v1/topics/bench" | grep -E "Requests/sec|Latency  |50%|99%|Non-2xx"
done
echo "== load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== the access checks alone (bench/access-cost.ts)"
npx esbuild bench/access-cost.ts --bundle --platform=node --format=esm --outfile=build/bench/access-cost.mjs --log-level=warning
node build/bench/access-cost.mjs
