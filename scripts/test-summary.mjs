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
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (report.numTotalTests === 0) process.exit(1);
