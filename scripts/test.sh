#!/usr/bin/env bash
# The whole test suite (`npm test`): installs what the tests need (Debian packages, Kafka jars from
# Maven Central, npm packages), builds, type-checks, runs vitest, and ends with one plain line
# `tests: N passed, N failed` read from vitest's JSON report.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || { echo "install-deps failed" >&2; exit 1; }
# npm packages: installed again (npm ci) whenever the lockfile or a patch in patches/ (applied by
# patch-package at install) differs from what the last install here had, so a checkout kept between
# runs never tests against stale or unpatched modules.
stamp=node_modules/.sparkngin-installed
want=$(cat package-lock.json patches/*.patch | sha256sum | cut -d' ' -f1)
if [ ! -x node_modules/.bin/vitest ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  npm ci --no-audit --no-fund || exit 1
  echo "$want" > "$stamp"
fi
npm run --silent build || exit 1
npx tsc --noEmit || exit 1

mkdir -p test-results
report=test-results/vitest.json
rm -f "$report"
# The chaos and fuzz suites write what they measured here; a full run starts from nothing, so the
# rendered docs/reliability.md holds only this run's numbers (a partial run updates its own suites).
[ $# -eq 0 ] && rm -rf test-results/reliability
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
node scripts/reliability-report.mjs || status=1
node scripts/test-summary.mjs "$report" || status=1
exit $status
