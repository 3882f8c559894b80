#!/usr/bin/env bash
# rcodesign (the apple-codesign crate): signs and verifies Mach-O code signatures on Linux; the dist
# build's codesign step uses it for the darwin executables and addons. Built once from crates.io with
# cargo (without the notarization feature, which brings the whole AWS SDK) into
#   ${SPARKNGIN_CACHE:-$HOME/.cache/sparkngin}/rcodesign-VERSION/bin/rcodesign
# and kept there, as the Kafka jars are. Idempotent: prints the path, builds only when it is missing
# (33 minutes on 2 cores shared with other jobs, once; scripts/install-deps.sh and the codesign step
# both call it). Needs cargo and Rust 1.81 or later (rustup's; Debian 12's 1.63 is too old).
set -euo pipefail
version=0.29.0
cache=${SPARKNGIN_CACHE:-${HOME:-/root}/.cache/sparkngin}
dest=$cache/rcodesign-$version
bin=$dest/bin/rcodesign
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

mkdir -p "$cache"
exec 8>"$cache/.rcodesign.lock"
flock 8
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
export PATH=$PATH:${CARGO_HOME:-${HOME:-/root}/.cargo}/bin
command -v cargo >/dev/null || { echo "rcodesign.sh: cargo not found (rustup or Debian's cargo)" >&2; exit 1; }
echo "rcodesign.sh: building apple-codesign $version with cargo (once; log in $dest.log)" >&2
# The target dir survives an interrupted build, so the next call goes on where this one stopped.
if ! CARGO_TARGET_DIR=$cache/rcodesign-target cargo install apple-codesign --version "=$version" --locked \
    --no-default-features --root "$dest.tmp" >"$dest.log" 2>&1; then
  tail -20 "$dest.log" >&2
  echo "rcodesign.sh: cargo install failed" >&2
  exit 1
fi
rm -rf "$dest" "$cache/rcodesign-target"
mv "$dest.tmp" "$dest"
"$bin" --version >&2
echo "$bin"
