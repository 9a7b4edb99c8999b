// A seeded nemesis on real processes: 3 controllers + 3 brokers, kill -9, SIGSTOP and iptables partitions
// rotating with quiet periods for 5 minutes (TRIB_NEMESIS_MS shortens it), three idempotent acks=all producers
// (librdkafka) the whole time, then a read-back of everything and the history checker. No acknowledged record
// may be lost or duplicated or sit at another offset than acknowledged; no process and no iptables rule may be
// left behind, pass or fail. The history, schedule and report stay in the output folder when it fails
// (TRIB_NEMESIS_OUT names it; TRIB_NEMESIS_SEED picks the seed).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { harnessChains, runNemesis, type NemesisRunResult } from '@tributary/harness';

const DURATION_MS = Number(process.env.TRIB_NEMESIS_MS ?? 300_000);
const SEED = Number(process.env.TRIB_NEMESIS_SEED ?? 20_251_122);
const outDir = process.env.TRIB_NEMESIS_OUT ?? mkdtempSync(join(tmpdir(), 'trib-nemesis-'));
let passed = false;

/** Tributary processes whose data lives under this run's folder. */
function leftoverNodes(): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes('tributary.js') && line.includes(outDir));
}

afterAll(() => {
  // Checked whatever happened above: the run must clean up after itself even when it fails.
  expect(harnessChains().filter((c) => c === `TRIBCHAOS-${process.pid}`), 'no iptables chain of this run is left').toEqual([]);
  expect(leftoverNodes(), 'no node process of this run is left').toEqual([]);
  if (passed && process.env.TRIB_NEMESIS_OUT === undefined) rmSync(outDir, { recursive: true, force: true });
  else process.stdout.write(`nemesis: history, schedule and report kept in ${outDir}\n`);
});

describe('nemesis on 3 controllers + 3 brokers (kill -9, pause, partition)', () => {
  it(`loses, duplicates and misplaces no acknowledged record over ${DURATION_MS} ms of faults (seed ${SEED})`, { timeout: DURATION_MS + 900_000 }, async () => {
    let result: NemesisRunResult;
    try {
      result = await runNemesis({
        seed: SEED,
        durationMs: DURATION_MS,
        controllers: 3,
        brokers: 3,
        faults: [{ fault: 'kill' }, { fault: 'pause' }, { fault: 'partition' }],
        outDir,
        log: (line) => process.stdout.write(`${line}\n`),
      });
    } finally {
      expect(harnessChains().filter((c) => c === `TRIBCHAOS-${process.pid}`), 'no iptables chain left right after the run').toEqual([]);
    }
    const c = result.report.counts;
    process.stdout.write(
      `nemesis summary: acknowledged ${c.sendsOk}, unknown ${c.sendsInfo}, failed ${c.sendsFail}, read ${c.polls}, ` +
        `lost ${c.lostWrites}, duplicated ${c.duplicates}, inconsistent offsets ${c.inconsistentOffsets}, unseen ${c.unseenWrites}, ` +
        `fault windows ${c.faultWindows}, unavailability windows ${c.unavailabilityWindows}, producer epoch bumps ${result.producerEpochBumps}; report ${result.reportHtmlPath}\n`,
    );
    expect(c.faultWindows).toBeGreaterThan(0);
    expect(result.applied.length).toBe(result.schedule.events.length);
    expect(c.sendsOk).toBeGreaterThan(0);
    expect(c.lostWrites).toBe(0);
    expect(c.inconsistentOffsets).toBe(0);
    expect(c.unseenWrites).toBe(0);
    // A librdkafka producer-epoch bump re-sends possibly persisted values under the new epoch: stored twice. The broker
    // once caused bumps (packages/harness/findings/seed-20251122-60s-duplicates): it must not.
    expect(result.producerEpochBumps).toBe(0);
    // A group resuming a partition with no committed offset, or below one it had already resumed at, means committed
    // offsets were lost (they once were: the coordinator's commits were not replicated;
    // packages/harness/findings/seed-20251122-60s-group-offsets-lost). Re-reading a batch whose commit was refused in
    // a rebalance is at-least-once, not counted here.
    expect(result.groupRewinds.lostCommits).toBe(0);
    expect(c.duplicates).toBe(0);
    passed = true;
  });
});
