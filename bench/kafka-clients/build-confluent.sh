#!/usr/bin/env bash
# Builds @confluentinc/kafka-javascript from the librdkafka sources its npm package bundles, for the
# machine's Node 20 ($BENCH_NODE20, default /usr/bin/node: the bake-off runs the client on it,
# whatever Node is first on PATH, e.g. the repository's 22 under `npm run bench`) (the package's own install step would fetch a prebuilt binary from outside the npm
# registry, which this project does not use). librdkafka links dynamically against Debian's libssl,
# libsasl2, zlib, zstd and lz4 (bench/deps/apt.txt): the package's static recipe
# (`--install-deps --source-deps-only`) downloads those libraries' sources from their own sites.
# Idempotent: skipped when the addon exists for this Node ABI. Writes the build time to
# bench/results/confluent-build.json.        bash bench/kafka-clients/build-confluent.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/../.."
pkg=bench/node_modules/@confluentinc/kafka-javascript
addon=$pkg/build/Release/confluent-kafka-javascript.node
stamp=$pkg/build/.built-for
node=${BENCH_NODE20:-/usr/bin/node}
abi=$("$node" -p 'process.versions.modules')
if [ "${1:-}" != "--force" ] && [ -f "$addon" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$abi" ]; then
  echo "build-confluent: cached ($addon, Node ABI $abi)"; exit 0
fi
gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
nodedir=$(dirname "$(dirname "$(readlink -f "$node")")")
[ -f "$nodedir/include/node/common.gypi" ] || { echo "build-confluent: no Node headers in $nodedir/include/node" >&2; exit 1; }
mkdir -p bench/results
log=bench/results/confluent-build.log
echo "build-confluent: building librdkafka + addon (log: $log)"
load=$(cut -d" " -f1-3 /proc/loadavg)
start=$(date +%s.%N)
# librdkafka's configure first: node-gyp's parallel make does not order it before librdkafka's build.
( cd "$pkg" && rm -rf build deps/librdkafka/config.h && export CKJS_LINKING=dynamic \
  && "$node" util/configure && "$node" "$gyp" rebuild --nodedir="$nodedir" -j "$(nproc)" ) >"$log" 2>&1 || { tail -40 "$log" >&2; exit 1; }
end=$(date +%s.%N)
echo "$abi" >"$stamp"
seconds=$(echo "$end - $start" | bc)
size=$(du -cb "$addon" "$pkg"/build/deps/*.so* 2>/dev/null | tail -1 | cut -f1)
printf '{"seconds": %s, "cores": %s, "loadavgBefore": "%s", "node": "%s", "addonAndLibsBytes": %s, "librdkafka": "%s"}\n' \
  "$seconds" "$(nproc)" "$load" "$("$node" --version)" "$size" \
  "$(sed -n 's/.*"librdkafka": *"\([^"]*\)".*/\1/p' "$pkg/package.json")" >bench/results/confluent-build.json
echo "build-confluent: built in ${seconds} s"
