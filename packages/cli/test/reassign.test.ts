import { describe, expect, it } from 'vitest';
import { reassignArgs } from '../src/cli.ts';
import { UsageError } from '../src/context.ts';
import { generatePlan, movingToPlan, parsePlan, parseThrottle, planBrokers, planOf, progressBar, summarize, verifyLineText, verifyPartition } from '../src/reassign.ts';

const md = (replicas: number[], isr: number[]) => ({ partition: 0, leader: isr[0] ?? -1, leaderEpoch: 0, replicas, isr, offlineReplicas: [], errorCode: 0, errorName: 'NONE' });

describe('generatePlan', () => {
  it("spreads leaders and replicas evenly (Kafka's rack-unaware assignment, deterministic)", () => {
    const topic = { name: 't', partitions: Array.from({ length: 6 }, (_, partition) => ({ partition, replicas: [1, 2] })) };
    const plan = generatePlan([topic], [3, 1, 2]);
    expect(plan.partitions.map((p) => p.replicas)).toEqual([
      [1, 2],
      [2, 3],
      [3, 1],
      [1, 3], // wrapped around: the follower shift grows
      [2, 1],
      [3, 2],
    ]);
    const leaders = new Map<number, number>();
    const replicas = new Map<number, number>();
    for (const p of plan.partitions) {
      leaders.set(p.replicas[0]!, (leaders.get(p.replicas[0]!) ?? 0) + 1);
      for (const r of p.replicas) replicas.set(r, (replicas.get(r) ?? 0) + 1);
      expect(new Set(p.replicas).size).toBe(p.replicas.length);
    }
    expect([...leaders.values()]).toEqual([2, 2, 2]);
    expect([...replicas.values()]).toEqual([4, 4, 4]);
  });

  it('keeps each partition\'s replication factor, interleaves topics, and refuses more replicas than brokers', () => {
    const plan = generatePlan(
      [
        { name: 'b', partitions: [{ partition: 0, replicas: [7] }] },
        { name: 'a', partitions: [{ partition: 0, replicas: [7, 8, 9] }] },
      ],
      [4, 5, 6],
    );
    expect(plan).toEqual({ version: 1, partitions: [{ topic: 'a', partition: 0, replicas: [4, 5, 6] }, { topic: 'b', partition: 0, replicas: [5] }] });
    expect(() => generatePlan([{ name: 'a', partitions: [{ partition: 0, replicas: [1, 2, 3] }] }], [1, 2])).toThrow(/a-0 has 3 replicas but --brokers names only 2/);
  });
});

describe('parsePlan', () => {
  it('reads kafka-reassign-partitions JSON (log_dirs ignored) and sorts it', () => {
    const text = JSON.stringify({ version: 1, partitions: [{ topic: 'b', partition: 1, replicas: [2], log_dirs: ['any'] }, { topic: 'a', partition: 3, replicas: [1, 2] }] });
    expect(parsePlan(text, 'p.json')).toEqual({ version: 1, partitions: [{ topic: 'a', partition: 3, replicas: [1, 2] }, { topic: 'b', partition: 1, replicas: [2] }] });
  });

  it('names what is wrong and where', () => {
    const bad: [string, RegExp][] = [
      ['{', /p\.json is not JSON/],
      ['{"version":2,"partitions":[{"topic":"a","partition":0,"replicas":[1]}]}', /version 2 is not supported/],
      ['{"partitions":[]}', /names no partitions/],
      ['{"partitions":[{"topic":"a","partition":-1,"replicas":[1]}]}', /partitions\[0\]\.partition must be an integer/],
      ['{"partitions":[{"topic":"a","partition":0,"replicas":[]}]}', /partitions\[0\]\.replicas must be a non-empty list/],
      ['{"partitions":[{"topic":"a","partition":0,"replicas":[1,1]}]}', /names a broker twice/],
      ['{"partitions":[{"topic":"a","partition":0,"replicas":[1]},{"topic":"a","partition":0,"replicas":[2]}]}', /partitions\[1\]: a-0 appears more than once/],
    ];
    for (const [text, why] of bad) {
      expect(() => parsePlan(text, 'p.json')).toThrow(UsageError);
      expect(() => parsePlan(text, 'p.json')).toThrow(why);
    }
  });
});

describe('verifyPartition', () => {
  const plan = { topic: 't', partition: 0, replicas: [2, 3, 4] };

  it('in progress: target replicas in sync, adding and removing', () => {
    const l = verifyPartition(plan, { topic: 't', partition: 0, replicas: [2, 3, 4, 1], addingReplicas: [4], removingReplicas: [1] }, md([2, 3, 4, 1], [1, 2, 3]));
    expect(l).toMatchObject({ state: 'in-progress', inSync: 2, otherTarget: false });
    expect(verifyLineText(l)).toBe('Reassignment of partition t-0 is still in progress: 2/3 target replicas in sync, adding [4], removing [1]');
    const other = verifyPartition(plan, { topic: 't', partition: 0, replicas: [5, 1], addingReplicas: [5], removingReplicas: [1] }, md([5, 1], [1]));
    expect(verifyLineText(other)).toMatch(/towards other replicas than the plan's \[2,3,4\]/);
  });

  it('complete, mismatched (e.g. cancelled) and missing partitions', () => {
    expect(verifyPartition(plan, undefined, md([2, 3, 4], [2, 3, 4]))).toMatchObject({ state: 'complete', inSync: 3 });
    const cancelled = verifyPartition(plan, undefined, md([1, 2, 3], [1, 2, 3]));
    expect(cancelled.state).toBe('mismatch');
    expect(verifyLineText(cancelled)).toBe("There is no active reassignment of partition t-0, but its replicas are [1,2,3], not the plan's [2,3,4]");
    expect(verifyPartition(plan, undefined, undefined).state).toBe('missing');
  });

  it('summarizes into a progress bar over target replicas in sync', () => {
    const lines = [
      verifyPartition(plan, undefined, md([2, 3, 4], [2, 3, 4])),
      verifyPartition(plan, { topic: 't', partition: 0, replicas: [2, 3, 4, 1], addingReplicas: [4], removingReplicas: [1] }, md([2, 3, 4, 1], [1, 2])),
    ];
    const s = summarize(lines);
    expect(s).toEqual({ complete: 1, inProgress: 1, failed: 0, inSyncReplicas: 4, targetReplicas: 6 });
    expect(progressBar(s, 12)).toBe('[########----] 1/2 partitions complete, 4/6 target replicas in sync');
  });
});

describe('reassignArgs', () => {
  it('needs exactly one mode and what that mode needs', () => {
    expect(reassignArgs({ generate: true, topics: 'a, b,a', brokers: '3,1' })).toEqual({ mode: 'generate', topics: ['a', 'b'], brokers: [3, 1] });
    expect(reassignArgs({ verify: true, plan: 'p.json', wait: true, 'interval-ms': 50, 'timeout-ms': 1000 })).toEqual({ mode: 'verify', planFile: 'p.json', wait: true, intervalMs: 50, timeoutMs: 1000 });
    expect(reassignArgs({ cancel: true, plan: 'p.json' })).toEqual({ mode: 'cancel', planFile: 'p.json' });
    expect(() => reassignArgs({})).toThrow(/exactly one of --generate, --execute, --verify, --cancel/);
    expect(() => reassignArgs({ execute: true, cancel: true, plan: 'p' })).toThrow(/exactly one/);
    expect(() => reassignArgs({ execute: true })).toThrow(/--execute needs --plan FILE/);
    expect(() => reassignArgs({ generate: true, topics: 'a' })).toThrow(/--generate needs --topics/);
    expect(() => reassignArgs({ generate: true, topics: 'a', brokers: '1,x' })).toThrow(/--brokers must be an integer/);
  });
});

describe('--throttle', () => {
  it('goes with --execute as bytes/s', () => {
    expect(reassignArgs({ execute: true, plan: 'p.json' })).toEqual({ mode: 'execute', planFile: 'p.json', throttle: null });
    expect(reassignArgs({ execute: true, plan: 'p.json', throttle: '1048576' })).toEqual({ mode: 'execute', planFile: 'p.json', throttle: 1048576 });
    expect(parseThrottle(' 1 ')).toBe(1);
    expect(parseThrottle(9007199254740991)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('refuses zero, negative, fractional, non-numeric, empty and too large rates, naming the value', () => {
    for (const bad of ['0', '-1048576', '1.5', '1e6', '1MB', 'fast', '', '9007199254740992', '0x10']) {
      expect(() => parseThrottle(bad), bad).toThrow(UsageError);
      expect(() => parseThrottle(bad), bad).toThrow(`--throttle must be a replication rate in bytes/s, an integer from 1 to 9007199254740991 (e.g. 1048576 for 1 MiB/s), got "${bad}"`);
    }
    expect(() => reassignArgs({ execute: true, plan: 'p.json', throttle: '0' })).toThrow(/got "0"/);
  });

  it('is refused with the other modes', () => {
    expect(() => reassignArgs({ verify: true, plan: 'p.json', throttle: '1000' })).toThrow('--throttle goes with --execute (it sets the rate a reassignment replicates at), not with --verify');
    expect(() => reassignArgs({ generate: true, topics: 'a', brokers: '1', throttle: '1000' })).toThrow(/not with --generate/);
    expect(() => reassignArgs({ cancel: true, plan: 'p.json', throttle: '1000' })).toThrow(/not with --cancel/);
  });

  it('is set on every broker of the plan: current replicas (the union while moving) and targets', () => {
    const plan = planOf([{ topic: 't', partition: 0, replicas: [3, 4] }, { topic: 'u', partition: 1, replicas: [5] }]);
    const current = planOf([{ topic: 't', partition: 0, replicas: [1, 2] }, { topic: 'u', partition: 1, replicas: [5, 2] }]);
    expect(planBrokers(plan, current)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a partition already moving to the plan\'s replicas is not sent again', () => {
    const p = { topic: 't', partition: 0, replicas: [3, 4] };
    expect(movingToPlan(p, undefined)).toBe(false);
    expect(movingToPlan(p, { topic: 't', partition: 0, replicas: [3, 4, 1], addingReplicas: [3, 4], removingReplicas: [1] })).toBe(true);
    expect(movingToPlan(p, { topic: 't', partition: 0, replicas: [4, 3, 1], addingReplicas: [3, 4], removingReplicas: [1] })).toBe(false);
    expect(movingToPlan(p, { topic: 't', partition: 0, replicas: [3, 5, 1], addingReplicas: [3, 5], removingReplicas: [1] })).toBe(false);
  });
});
