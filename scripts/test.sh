#!/usr/bin/env bash
# The whole test suite (`npm test`): installs what the tests need (Debian packages, Kafka jars from
# Maven Central, npm packages), builds, type-checks, runs vitest, and ends with one plain line
# `tests: N passed, N failed` read from vitest's JSON report.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || { echo "install-deps failed" >&2; exit 1; }
[ -x node_modules/.bin/vitest ] || npm ci --no-audit --no-fund || exit 1
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
