// Live consumers under a seeded nemesis on real processes: 3 controllers + 3 brokers, kill -9 and SIGSTOP rotating
// with quiet periods for 60 s (TRIB_NEMESIS_CONSUMERS_MS changes it), three idempotent acks=all producers, and
// during the run one consumer by assignment (every partition from the log start) and two in one group (committing
// after each batch; the second joins 10 s after the first, which rebalances the group). Within a session (an
// assignment; a rebalance starts a new one) no consumer may read backwards or jump over a record; nothing
// acknowledged may be lost or duplicated.
// The history, schedule and report stay in the output folder when it fails (TRIB_NEMESIS_OUT names it).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runNemesis, type NemesisRunResult } from '@tributary/harness';

const DURATION_MS = Number(process.env.TRIB_NEMESIS_CONSUMERS_MS ?? 60_000);
const SEED = Number(process.env.TRIB_NEMESIS_SEED ?? 20_261_123);
const outDir = process.env.TRIB_NEMESIS_OUT ?? mkdtempSync(join(tmpdir(), 'trib-nemesis-consumers-'));
let passed = false;

/** Node and consumer processes of this run still alive. */
function leftovers(): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,stat,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => !/^\s*\d+\s+Z/.test(line) && ((line.includes('tributary.js') && line.includes(outDir)) || (line.includes('consumer_workload.py') && line.includes(outDir))));
}

afterAll(() => {
  expect(leftovers(), 'no node or consumer process of this run is left').toEqual([]);
  if (passed && process.env.TRIB_NEMESIS_OUT === undefined) rmSync(outDir, { recursive: true, force: true });
  else process.stdout.write(`nemesis-consumers: history, schedule and report kept in ${outDir}\n`);
});

describe('live consumers during a nemesis on 3 controllers + 3 brokers (kill -9, pause)', () => {
  it(`no consumer goes backwards or skips, nothing is lost or duplicated over ${DURATION_MS} ms (seed ${SEED})`, { timeout: DURATION_MS + 600_000 }, async () => {
    const result: NemesisRunResult = await runNemesis({
      seed: SEED,
      durationMs: DURATION_MS,
      controllers: 3,
      brokers: 3,
      faults: [{ fault: 'kill' }, { fault: 'pause' }],
      outDir,
      consumers: { assign: 1, group: 2 },
      // Three windows fit in 60 s: 8 + 3 x (10 + 8) - 8 + 5 <= 60.
      faultMs: [5_000, 10_000],
      quietMs: [5_000, 8_000],
      log: (line) => process.stdout.write(`${line}\n`),
    });
    const c = result.report.counts;
    process.stdout.write(
      `nemesis-consumers summary: ${result.summary}; unseen ${c.unseenWrites}; consumers ${JSON.stringify(result.consumers)}; report ${result.reportHtmlPath}\n`,
    );
    expect(c.faultWindows).toBeGreaterThan(0);
    expect(result.applied.length).toBe(result.schedule.events.length);
    expect(c.sendsOk).toBeGreaterThan(0);
    expect(result.consumers.map((x) => x.name)).toEqual(['ca0', 'cg0', 'cg1']);
    for (const x of result.consumers) expect(x.polls, `${x.name} read records during the run`).toBeGreaterThan(0);
    // Each consumer was assigned partitions; cg1 joined 10 s after cg0, so cg0 was rebalanced at least once and
    // re-read from its committed offsets in a new session.
    for (const x of result.consumers) expect(x.assignments, `${x.name} got an assignment`).toBeGreaterThan(0);
    expect(result.consumers.find((x) => x.name === 'cg0')!.assignments).toBeGreaterThanOrEqual(2);
    expect(c.nonmonotonicPolls).toBe(0);
    expect(c.skips).toBe(0);
    expect(c.lostWrites).toBe(0);
    expect(c.duplicates).toBe(0);
    expect(c.inconsistentOffsets).toBe(0);
    expect(c.unseenWrites).toBe(0);
    expect(c.unexpectedValues).toBe(0);
    expect(result.producerEpochBumps).toBe(0);
    // A group resuming a partition with no committed offset, or below one it had already resumed at, means committed
    // offsets were lost (they once were: the coordinator's commits were not replicated;
    // packages/harness/findings/seed-20251122-60s-group-offsets-lost). Re-reading a batch whose commit was refused in
    // a rebalance is at-least-once, not counted here.
    expect(result.groupRewinds.lostCommits).toBe(0);
    passed = true;
  });
});
