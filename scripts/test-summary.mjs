// Prints `tests: N passed, N failed` from vitest's JSON report, so that a run with no tests shows.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.log('tests: 0 passed, 0 failed');
  console.error(`no vitest report at ${file}: ${error.message}`);
  process.exit(1);
}
// A file that failed outside its tests (a beforeAll, an import) leaves its tests unrun, reported as
// skipped: they count as failed here, and such a file with no test listed as one failure.
let failed = report.numFailedTests;
let skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
for (const file of report.testResults ?? []) {
  if (file.status !== 'failed') continue;
  const unrun = file.assertionResults.filter((test) => test.status !== 'passed' && test.status !== 'failed').length;
  failed += file.assertionResults.length === 0 ? 1 : unrun;
  skipped -= unrun;
}
console.log(`tests: ${report.numPassedTests} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
if (report.numTotalTests === 0) process.exit(1);
