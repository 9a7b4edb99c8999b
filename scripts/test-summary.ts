// Sums the vitest summaries of every package in a `pnpm test` (turbo) log and prints, last,
// `tests: N passed, N failed`. Failed turbo tasks that are not counted as failed tests (typecheck, lint,
// a test file that does not load) count as one failure each. Exit code: non-zero on any failure.
//   node scripts/test-summary.ts LOG [EXIT_STATUS]
import { readFileSync } from 'node:fs';

const [logPath, statusArg] = process.argv.slice(2);
if (logPath === undefined) {
  console.error('usage: node scripts/test-summary.ts LOG [EXIT_STATUS]');
  process.exit(2);
}
const status = Number(statusArg ?? 0);
const ansi = /\u001b\[[0-9;]*[A-Za-z]/g;
const lines = readFileSync(logPath, 'utf8').replace(ansi, '').split('\n');

interface PackageCounts { passed: number; failed: number; failedFiles: number }
const perTask = new Map<string, PackageCounts>();
const failedTasks = new Set<string>();

const count = (text: string, word: string): number => Number(new RegExp(`(\\d+) ${word}`).exec(text)?.[1] ?? 0);

for (const raw of lines) {
  // turbo prefixes task output with "<package>:<task>: ".
  const prefix = /^(@?[\w./-]+):(\w+): ?(.*)$/.exec(raw);
  const task = prefix ? `${prefix[1]}#${prefix[2]}` : '(root)';
  const line = prefix ? prefix[3]! : raw;
  const tests = /^\s*Tests\s+(.*\(\d+\).*)$/.exec(line);
  if (tests) {
    const entry = perTask.get(task) ?? { passed: 0, failed: 0, failedFiles: 0 };
    entry.passed += count(tests[1]!, 'passed');
    entry.failed += count(tests[1]!, 'failed');
    perTask.set(task, entry);
  }
  const files = /^\s*Test Files\s+(.*)$/.exec(line);
  if (files) {
    const entry = perTask.get(task) ?? { passed: 0, failed: 0, failedFiles: 0 };
    entry.failedFiles += count(files[1]!, 'failed');
    perTask.set(task, entry);
  }
  // turbo's final summary: "  Failed:    @tributary/e2e#test, @tributary/x#lint"
  const failed = /^\s*Failed:\s+(.*)$/.exec(line);
  if (failed) for (const name of failed[1]!.split(',')) if (name.trim() !== '') failedTasks.add(name.trim());
  const errTask = /ERROR\s+run failed: command\s+\(.*\)\s+(.*) exited/.exec(line);
  if (errTask) failedTasks.add(errTask[1]!.trim());
}

let passed = 0;
let failed = 0;
for (const [task, c] of perTask) {
  passed += c.passed;
  failed += c.failed;
  // A test file that failed to load shows as a failed file with no failed test.
  if (c.failedFiles > 0 && c.failed === 0) failed += c.failedFiles;
  console.log(`  ${task}: ${c.passed} passed, ${c.failed} failed${c.failedFiles > 0 ? ` (${c.failedFiles} failed files)` : ''}`);
}
for (const task of failedTasks) {
  const counted = perTask.get(task);
  if (counted !== undefined && (counted.failed > 0 || counted.failedFiles > 0)) continue;
  console.log(`  ${task}: task failed`);
  failed += 1;
}
if (status !== 0 && failed === 0) {
  // e.g. turbo refusing to run (a cyclic workspace dependency): show its error lines.
  for (const line of lines.filter((l) => /^\s*(x |\||ERR|ERROR)/.test(l)).slice(0, 10)) console.log(`  ${line.trim()}`);
  console.log(`  pnpm test exited ${status} without a parsed test failure (full log: ${logPath})`);
  failed = 1;
}
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || status !== 0 ? 1 : 0);
