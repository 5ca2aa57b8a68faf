// Lists the tests that passed only when run again, at the end of the run, so a
// retry never hides a flake: each one is a timing bug to find (test or code).
import type { Reporter, TestCase } from 'vitest/node';

export default class FlakyReporter implements Reporter {
  private readonly flaky: string[] = [];

  onTestCaseResult(test: TestCase): void {
    const diagnostic = test.diagnostic();
    if (!diagnostic?.flaky) return;
    // The failed try's error, so a flake can be chased from the log alone.
    // (result() reports the passing try only; the runner's task keeps the errors of every try.)
    const task = (test as unknown as { task?: { result?: { errors?: { message?: string }[] } } }).task;
    const error = task?.result?.errors?.[0]?.message?.split('\n')[0];
    this.flaky.push(`${test.module.moduleId.replace(`${process.cwd()}/`, '')} > ${test.fullName}${error ? `\n      first try: ${error.slice(0, 600)}` : ''}`);
  }

  onTestRunEnd(): void {
    if (!this.flaky.length) return;
    console.log(`\nFlaky: ${this.flaky.length} test(s) failed, then passed when run again:`);
    for (const name of this.flaky) console.log(`  ${name}`);
  }
}
