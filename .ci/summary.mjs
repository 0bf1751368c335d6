// Prints "N passed, N failed" from vitest's JSON report plus the typecheck and lint checks.
// Exits 1 when anything failed or when the report is missing or ran no test.
import { readFileSync } from 'node:fs';

const [reportPath, checksPassed = '0', checksFailed = '0'] = process.argv.slice(2);
let passed = Number(checksPassed);
let failed = Number(checksFailed);
let ok = true;
try {
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests + (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A test file that failed to load has no test results but counts as a failure.
  for (const file of report.testResults ?? []) {
    if (file.status === 'failed' && (file.assertionResults ?? []).every((a) => a.status !== 'failed')) failed += 1;
  }
  if (report.numTotalTests === 0) ok = false;
} catch (error) {
  console.log(`could not read the test report ${reportPath}: ${error.message}`);
  failed += 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || !ok ? 1 : 0);
