// Reads vitest's JSON report and prints `N passed, N failed[, N skipped]`; exits 1 when any test
// failed, a test file failed to load, or nothing ran. A file that failed outside its tests (import
// error, failing hook) counts as one failed test, so it cannot hide behind a green count.
'use strict';
const { readFileSync, existsSync } = require('node:fs');

const file = process.argv[2];
if (!file || !existsSync(file)) {
  console.log('no vitest report was written');
  console.log('0 passed, 0 failed');
  process.exit(1);
}
let r;
try {
  r = JSON.parse(readFileSync(file, 'utf8'));
} catch (e) {
  console.log(`the vitest report is unreadable: ${e.message}`);
  console.log('0 passed, 0 failed');
  process.exit(1);
}
let failed = r.numFailedTests ?? 0;
for (const f of r.testResults ?? []) {
  const own = (f.assertionResults ?? []).filter((a) => a.status === 'failed').length;
  if (f.status === 'failed' && own === 0) failed += 1;
}
const passed = r.numPassedTests ?? 0;
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
