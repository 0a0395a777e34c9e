const { TestEnvironment } = require('jest-environment-node');

/**
 * Jest's node environment, plus: what the apps under a test wrote (collected in memory by
 * `app-output.ts`) is printed after that test only when it failed, so a passing run shows test
 * results, not application log lines.
 */
class QuietTestEnvironment extends TestEnvironment {
  async handleTestEvent(event) {
    const output = this.global.__appOutput;
    if (!output) return;
    if (event.name === 'test_start' || (event.name === 'hook_start' && event.hook.type === 'beforeAll')) {
      output.startTest();
    }
    const failed =
      (event.name === 'test_done' && event.test.errors.length > 0) || event.name === 'hook_failure';
    if (failed) {
      const text = output.sinceMark();
      const name = event.test ? event.test.name : `${event.hook.type} hook`;
      if (text) process.stderr.write(`\n--- app output during "${name}" ---\n${text}\n--- end of app output ---\n`);
    }
  }
}

module.exports = QuietTestEnvironment;
