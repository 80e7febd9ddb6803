// Writes one plain closing line ("jest: N passed, N failed, N skipped") to stdout and to
// .test-summary, so .ci/run can repeat it as the very last line of its output.
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const line = `jest: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests} skipped`;
    try {
      fs.appendFileSync(path.join(process.cwd(), '.test-summary'), line + '\n');
    } catch {
      // best effort: the line is printed below anyway
    }
    process.stdout.write(`\n${line}\n`);
  }
}
module.exports = SummaryReporter;
