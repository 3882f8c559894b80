#!/usr/bin/env bash
# Installs what the tests and benchmarks need on a Debian 12 machine (run as root, no questions):
#   1. /usr/sbin/policy-rc.d that forbids daemons to start on install;
#   2. every Debian package named in scripts/deps/apt*.txt that is not installed yet;
#   3. Apache Kafka broker jars (one class path per scripts/deps/kafka/<line>/pom.xml) from Maven
#      Central into ${SPARKNGIN_CACHE:-$HOME/.cache/sparkngin}/kafka/<version>/libs.
# Idempotent and quick when everything is there (no network at all then). One line per step.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${SPARKNGIN_CACHE:-$HOME/.cache/sparkngin}
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
for list in scripts/deps/apt*.txt; do
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

# 3. Kafka broker class paths from Maven Central.
command -v java >/dev/null || { echo "install-deps: java not found" >&2; exit 1; }
command -v mvn >/dev/null || { echo "install-deps: mvn not found" >&2; exit 1; }
for pom in scripts/deps/kafka/*/pom.xml; do
  [ -e "$pom" ] || continue
  version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom" | head -n1)
  [ -n "$version" ] || { echo "install-deps: no <kafka.version> in $pom" >&2; exit 1; }
  dest="$cache/kafka/$version"
  marker="$dest/.complete"
  stamp=$(sha256sum "$pom" | cut -d' ' -f1)
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$stamp" ] && [ -d "$dest/libs" ]; then
    say "kafka $version: cached ($(ls "$dest/libs" | wc -l) jars in $dest/libs)"
    continue
  fi
  say "kafka $version: fetching the broker jars from Maven Central"
  rm -rf "$dest/libs.tmp" "$marker"
  mkdir -p "$dest"
  if ! mvn -B -q -f "$root/$pom" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$dest/libs.tmp" >"$dest/mvn.log" 2>&1; then
    cat "$dest/mvn.log" >&2
    echo "install-deps: mvn failed for $pom" >&2
    exit 1
  fi
  ls "$dest/libs.tmp"/kafka_2.13-"$version".jar >/dev/null
  rm -rf "$dest/libs" "$root/$(dirname "$pom")/target"
  mv "$dest/libs.tmp" "$dest/libs"
  echo "$stamp" >"$marker"
  say "kafka $version: $(ls "$dest/libs" | wc -l) jars in $dest/libs"
done
say "done"
