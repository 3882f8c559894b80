#!/usr/bin/env bash
# Installs what the tests and benchmarks need on a Debian 12 machine (run as root, no questions):
#   1. /usr/sbin/policy-rc.d that forbids daemons to start on install;
#   2. every Debian package named in scripts/deps/apt*.txt (and in the lists given as arguments:
#      bench/setup.sh passes bench/deps/apt.txt) that is not installed yet;
#   3. Apache Kafka broker jars (one class path per scripts/deps/kafka/<line>/pom.xml) from Maven
#      Central into ${SPARKNGIN_CACHE:-$HOME/.cache/sparkngin}/kafka/<version>/libs;
#   4. Apache Flume agent jars (scripts/deps/flume/pom.xml) into <cache>/flume/<version>/libs;
#   5. rcodesign (scripts/deps/rcodesign.sh, crates.io), once, into the same cache.
# Idempotent and quick when everything is there (no network at all then). One line per step.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${SPARKNGIN_CACHE:-${HOME:-/root}/.cache/sparkngin}
say() { echo "install-deps: $*"; }

mkdir -p "$cache"
# Several test runs may start at once (other engineers, CI): one installer at a time.
exec 9>"$cache/.install-deps.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

# 1. No Debian daemon (nginx, ...) may start by itself when its package is installed.
if [ -e /usr/sbin/policy-rc.d ]; then
  say "policy-rc.d: present"
else
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  say "policy-rc.d: installed (daemons do not start on install)"
fi

# 2. Debian packages.
wanted=()
for list in scripts/deps/apt*.txt "$@"; do
  [ -e "$list" ] || continue
  while IFS= read -r line; do
    line=${line%%#*}
    for name in $line; do wanted+=("$name"); done
  done <"$list"
done
missing=()
for name in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$name" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$name")
done
if [ ${#missing[@]} -eq 0 ]; then
  say "apt: all ${#wanted[@]} packages present"
else
  say "apt: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_install() { apt-get install -y -q --no-install-recommends "${missing[@]}" >"$cache/apt.log" 2>&1; }
  updated=0
  # Without package lists (fresh image) an install cannot work: update first.
  if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
    apt-get update -q >"$cache/apt-update.log" 2>&1 || { cat "$cache/apt-update.log" >&2; exit 1; }
    updated=1
  fi
  if ! apt_install; then
    if [ $updated -eq 1 ]; then cat "$cache/apt.log" >&2; exit 1; fi
    say "apt: install failed, updating the package lists and trying once more"
    apt-get update -q >"$cache/apt-update.log" 2>&1 || { cat "$cache/apt-update.log" >&2; exit 1; }
    apt_install || { cat "$cache/apt.log" >&2; exit 1; }
  fi
  say "apt: installed ${#missing[@]} packages"
fi

# 3. and 4.: class paths from Maven Central. maven_jars NAME VERSION POM JAR: the runtime
#    dependencies of POM into <cache>/NAME/VERSION/libs, fetched again only when POM changes (its hash
#    is the marker), JAR being one that must be among them.
command -v java >/dev/null || { echo "install-deps: java not found" >&2; exit 1; }
command -v mvn >/dev/null || { echo "install-deps: mvn not found" >&2; exit 1; }
maven_jars() {
  local name=$1 version=$2 pom=$3 jar=$4
  local dest="$cache/$name/$version" stamp
  stamp=$(sha256sum "$pom" | cut -d' ' -f1)
  if [ -f "$dest/.complete" ] && [ "$(cat "$dest/.complete")" = "$stamp" ] && [ -d "$dest/libs" ]; then
    say "$name $version: cached ($(ls "$dest/libs" | wc -l) jars in $dest/libs)"
    return
  fi
  say "$name $version: fetching the jars from Maven Central"
  rm -rf "$dest/libs.tmp" "$dest/.complete"
  mkdir -p "$dest"
  if ! mvn -B -q -f "$root/$pom" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$dest/libs.tmp" >"$dest/mvn.log" 2>&1; then
    cat "$dest/mvn.log" >&2
    echo "install-deps: mvn failed for $pom" >&2
    exit 1
  fi
  ls "$dest/libs.tmp/$jar" >/dev/null
  rm -rf "$dest/libs" "$root/$(dirname "$pom")/target"
  mv "$dest/libs.tmp" "$dest/libs"
  echo "$stamp" >"$dest/.complete"
  say "$name $version: $(ls "$dest/libs" | wc -l) jars in $dest/libs"
}

# 3. Kafka broker class paths, one per scripts/deps/kafka/<line>/pom.xml.
for pom in scripts/deps/kafka/*/pom.xml; do
  [ -e "$pom" ] || continue
  version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom" | head -n1)
  [ -n "$version" ] || { echo "install-deps: no <kafka.version> in $pom" >&2; exit 1; }
  maven_jars kafka "$version" "$pom" "kafka_2.13-$version.jar"
done

# 4. The Flume agent's class path (the Flume sink's peer, test/peers/flume.ts).
pom=scripts/deps/flume/pom.xml
version=$(sed -n 's:.*<flume.version>\(.*\)</flume.version>.*:\1:p' "$pom" | head -n1)
[ -n "$version" ] || { echo "install-deps: no <flume.version> in $pom" >&2; exit 1; }
maven_jars flume "$version" "$pom" "flume-ng-core-$version.jar"

# 5. rcodesign (Mach-O code signing on Linux, for the macOS executables): built once with cargo.
rcodesign=$(bash scripts/deps/rcodesign.sh)
say "rcodesign: $rcodesign"

# 6. Class-data-sharing archives: one training run per Kafka version (format + start + a few
#    requests through kcat + stop) records the classes the JVM loads; the test peers pass them to
#    java (-XX:SharedArchiveFile) and a broker then answers in about half the time. Tied to the jars
#    and to the JDK build: either changing makes a new training run. Optional: on failure, the tests
#    still run, only slower.
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
train_cds() { # $1 version, $2 libs dir, $3 output dir (empty)
  local version=$1 libs=$2 out=$3 work port cport id pid i
  work=$(mktemp -d /tmp/sparkngin-cds-XXXXXX)
  port=$(free_port) && cport=$(free_port) || return 1
  id=-; while [ "${id#-}" != "$id" ]; do id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='); done
  cat >"$work/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$work/data
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=16777216
PROPS
  printf 'log4j.rootLogger=WARN, out\nlog4j.appender.out=org.apache.log4j.ConsoleAppender\nlog4j.appender.out.layout=org.apache.log4j.PatternLayout\n' >"$work/log4j.properties"
  printf 'status = warn\nappender.out.type = Console\nappender.out.name = OUT\nappender.out.layout.type = PatternLayout\nrootLogger.level = WARN\nrootLogger.appenderRef.out.ref = OUT\n' >"$work/log4j2.properties"
  local logging=(-Dlog4j.configuration="file:$work/log4j.properties" -Dlog4j2.configurationFile="$work/log4j2.properties")
  java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData "${logging[@]}" \
    -XX:ArchiveClassesAtExit="$out/tool.jsa" -cp "$libs/*" kafka.tools.StorageTool format \
    --cluster-id "$id" --config "$work/server.properties" >"$work/format.log" 2>&1 || { cat "$work/format.log" >&2; return 1; }
  java -Xmx512m -Xms256m -XX:+UseG1GC -XX:-UsePerfData "${logging[@]}" \
    -XX:ArchiveClassesAtExit="$out/broker.jsa" -cp "$libs/*" kafka.Kafka "$work/server.properties" \
    >"$work/broker.log" 2>&1 &
  pid=$!
  trap 'kill -9 '"$pid"' 2>/dev/null; rm -rf '"$work" EXIT
  for i in $(seq 1 450); do
    kcat -b "127.0.0.1:$port" -L -m 2 >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  seq 1 200 | sed 's/^/k:v/' | kcat -b "127.0.0.1:$port" -P -K: -t warmup -X enable.idempotence=true >/dev/null 2>&1 || true
  kcat -b "127.0.0.1:$port" -C -t warmup -o beginning -e -q -m 5 >/dev/null 2>&1 || true
  kcat -b "127.0.0.1:$port" -L -m 2 >/dev/null 2>&1 || true
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  trap - EXIT
  rm -rf "$work"
  [ -s "$out/broker.jsa" ] && [ -s "$out/tool.jsa" ]
}
jdk=$(java -version 2>&1 | tr '\n' ' ')
for pom in scripts/deps/kafka/*/pom.xml; do
  [ -e "$pom" ] || continue
  version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom" | head -n1)
  dest="$cache/kafka/$version"
  stamp="$(cat "$dest/.complete") $jdk"
  if [ -f "$dest/cds/.complete" ] && [ "$(cat "$dest/cds/.complete")" = "$stamp" ]; then
    say "kafka $version: class-data-sharing archive cached"
    continue
  fi
  say "kafka $version: training run for a class-data-sharing archive (faster broker start)"
  rm -rf "$dest/cds" "$dest/cds.tmp"
  mkdir -p "$dest/cds.tmp"
  started=$SECONDS
  if (train_cds "$version" "$dest/libs" "$dest/cds.tmp"); then
    echo "$stamp" >"$dest/cds.tmp/.complete"
    mv "$dest/cds.tmp" "$dest/cds"
    say "kafka $version: archive ready in $((SECONDS - started)) s"
  else
    rm -rf "$dest/cds.tmp"
    say "kafka $version: WARNING: no class-data-sharing archive (brokers start slower)"
  fi
done
say "done"
