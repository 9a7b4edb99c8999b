// A seeded nemesis of the network and disk faults on real processes: 3 controllers + 3 brokers for 60 s
// (TRIB_NEMESIS_FAULTS_MS changes it), rotating latency with jitter on a majority of nodes, 10% packet loss on
// every broker, and a full disk on b1, with quiet periods between, under three idempotent acks=all producers.
// Then the read-back and the checker: nothing acknowledged lost, nothing at two offsets or two values at one,
// no producer-epoch bump. Afterwards (pass or fail) no iptables chain of the run (filter or mangle), no qdisc on
// lo, no disk mount and no node process may be left. Needs root (skipped otherwise, reason printed).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { harnessChains, harnessMounts, netemChains, parseFaults, runNemesis, type NemesisRunResult } from '@tributary/harness';

const DURATION_MS = Number(process.env.TRIB_NEMESIS_FAULTS_MS ?? 60_000);
const SEED = Number(process.env.TRIB_NEMESIS_SEED ?? 20_261_122);
const FAULTS = 'latency=150~50:majority,loss=10:brokers,disk-full:b1';
const outDir = process.env.TRIB_NEMESIS_OUT ?? mkdtempSync(join(tmpdir(), 'trib-nemesis-faults-'));
const root = process.getuid?.() === 0;
if (!root) process.stdout.write('nemesis-faults: skipped (needs root for iptables, NFQUEUE and tmpfs mounts)\n');
let passed = false;

function leftovers(): Record<string, string[]> {
  const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return {
    filterChains: harnessChains().filter((c) => c === `TRIBCHAOS-${process.pid}`),
    mangleChains: netemChains().filter((c) => c === `TRIBNETEM-${process.pid}`),
    // The harness never installs a qdisc; lo must still have its default (noqueue), not one left by anyone's netem.
    loQdiscs: execFileSync('tc', ['qdisc', 'show', 'dev', 'lo'], { encoding: 'utf8' }).split('\n').filter((l) => l.trim() !== '' && !l.includes('noqueue')),
    mounts: harnessMounts().filter((m) => m.target.startsWith(outDir)).map((m) => m.target),
    nodes: ps.split('\n').filter((line) => line.includes('tributary.js') && line.includes(outDir)),
    delayers: ps.split('\n').filter((line) => line.includes('nfq_delay.py') && !/\s(Z|defunct)/.test(line)),
  };
}

const empty = { filterChains: [], mangleChains: [], loQdiscs: [], mounts: [], nodes: [], delayers: [] };

afterAll(() => {
  if (!root) return;
  expect(leftovers(), 'the run left nothing behind').toEqual(empty);
  if (passed && process.env.TRIB_NEMESIS_OUT === undefined) rmSync(outDir, { recursive: true, force: true });
  else process.stdout.write(`nemesis-faults: history, schedule and report kept in ${outDir}\n`);
});

describe.skipIf(!root)('nemesis on 3 controllers + 3 brokers (latency, loss, full disk)', () => {
  it(`loses, duplicates and misplaces no acknowledged record over ${DURATION_MS} ms of ${FAULTS} (seed ${SEED})`, { timeout: DURATION_MS + 900_000 }, async () => {
    let result: NemesisRunResult;
    try {
      result = await runNemesis({
        seed: SEED,
        durationMs: DURATION_MS,
        controllers: 3,
        brokers: 3,
        faults: parseFaults(FAULTS),
        outDir,
        // Three windows always fit in 60 s: 8 + 3 x (10 + 8) - 8 + 5 <= 60.
        faultMs: [5_000, 10_000],
        quietMs: [5_000, 8_000],
        // Kept to look at b1's log below; removed with the folder when the run passes.
        keepNodes: true,
        log: (line) => process.stdout.write(`${line}\n`),
      });
    } finally {
      expect(leftovers(), 'nothing left right after the run').toEqual(empty);
    }
    const c = result.report.counts;
    process.stdout.write(
      `nemesis-faults summary: ${result.summary}; unseen ${c.unseenWrites}; report ${result.reportHtmlPath}\n`,
    );
    // Every fault kind was played, and took effect: the full disk made the broker refuse appends.
    const applied = result.applied.map((a) => a.detail);
    for (const action of ['netem delay', 'netem loss', 'fill disk']) expect(applied.some((d) => d.startsWith(action)), `${action} applied`).toBe(true);
    expect(result.applied.length).toBe(result.schedule.events.length);
    expect(c.sendsOk).toBeGreaterThan(0);
    expect(c.lostWrites).toBe(0);
    expect(c.inconsistentOffsets).toBe(0);
    expect(c.unseenWrites).toBe(0);
    expect(result.producerEpochBumps).toBe(0);
    // A group resuming a partition with no committed offset, or below one it had already resumed at, means committed
    // offsets were lost (they once were: the coordinator's commits were not replicated;
    // packages/harness/findings/seed-20251122-60s-group-offsets-lost). Re-reading a batch whose commit was refused in
    // a rebalance is at-least-once, not counted here.
    expect(result.groupRewinds.lostCommits).toBe(0);
    expect(c.duplicates).toBe(0);
    expect(result.healthyAtEnd).toBe(true);
    // The full disk took effect: b1 (a replica of every partition) refused appends with ENOSPC, and stayed up.
    const b1Log = readFileSync(join(outDir, 'nodes', 'b1', 'stdout.log'), 'utf8');
    const enospc = b1Log.split('\n').filter((l) => l.includes('ENOSPC')).length;
    process.stdout.write(`nemesis-faults: b1 logged ${enospc} ENOSPC lines, ${(b1Log.match(/### start #/g) ?? []).length} start(s)\n`);
    expect(enospc).toBeGreaterThan(0);
    passed = true;
  });
});
