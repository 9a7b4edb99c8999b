import { describe, expect, it } from 'vitest';
import { logDirsArgs, reassignArgs } from '../src/cli.ts';
import { UsageError } from '../src/context.ts';
import { formatBytes, generatePlan, movingToPlan, parsePlan, parseThrottle, planBrokers, planOf, progressBar, summarize, verifyLineText, verifyPartition, withCopyProgress } from '../src/reassign.ts';

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
    expect(s).toEqual({ complete: 1, inProgress: 1, failed: 0, inSyncReplicas: 4, targetReplicas: 6, copiedBytes: 0, bytesToCopy: 0, sizedPartitions: 0, replicaProgress: 4 });
    expect(progressBar(s, 12)).toBe('[########----] 1/2 partitions complete, 4/6 target replicas in sync');
  });
});

describe('copy progress from replica sizes', () => {
  const MiB = 1024 * 1024;
  // t-0 moves from [1] to [2]: leader 1, adding 2; t-1 from [1] to [3]; u-0 is already on the plan's replicas.
  const moving = (partition: number, to: number) =>
    verifyPartition({ topic: 't', partition, replicas: [to] }, { topic: 't', partition, replicas: [to, 1], addingReplicas: [to], removingReplicas: [1] }, md([to, 1], [1]));
  const done = verifyPartition({ topic: 'u', partition: 0, replicas: [2] }, undefined, md([2], [2]));
  const sizes = (entries: Record<number, Record<string, number>>) => new Map(Object.entries(entries).map(([b, m]) => [Number(b), new Map(Object.entries(m))]));

  it('an adding replica has copied what it holds, at most the leader\'s size; the leader is read from the metadata', () => {
    const l = withCopyProgress(moving(0, 2), sizes({ 1: { 't-0': 960 * MiB }, 2: { 't-0': 412 * MiB } }));
    expect(l).toMatchObject({ leader: 1, copiedBytes: 412 * MiB, bytesToCopy: 960 * MiB });
    expect(verifyLineText(l)).toBe('Reassignment of partition t-0 is still in progress: 0/1 target replicas in sync, adding [2], removing [1], 412 MiB / 960 MiB copied');
    // The new replica got ahead of a leader sample taken earlier: capped, never over 100%.
    expect(withCopyProgress(moving(0, 2), sizes({ 1: { 't-0': 100 } , 2: { 't-0': 150 } }))).toMatchObject({ copiedBytes: 100, bytesToCopy: 100 });
    // The adding broker answered but has not created the replica yet: nothing copied.
    expect(withCopyProgress(moving(0, 2), sizes({ 1: { 't-0': 100 }, 2: {} }))).toMatchObject({ copiedBytes: 0, bytesToCopy: 100 });
  });

  it('falls back to replicas in sync when the leader or an adding replica\'s broker did not answer; complete lines are left alone', () => {
    expect(withCopyProgress(moving(0, 2), sizes({ 1: { 't-0': 100 } }))).toMatchObject({ copiedBytes: null, bytesToCopy: null });
    expect(withCopyProgress(moving(0, 2), sizes({ 2: { 't-0': 100 } }))).toMatchObject({ copiedBytes: null, bytesToCopy: null });
    expect(withCopyProgress(done, sizes({ 2: { 'u-0': 100 } }))).toBe(done);
  });

  it('the bar moves with the bytes copied, before any new replica joins the ISR', () => {
    const at = (copied: number) => summarize([withCopyProgress(moving(0, 2), sizes({ 1: { 't-0': 960 * MiB }, 2: { 't-0': copied } })), done]);
    const early = at(100 * MiB);
    const later = at(412 * MiB);
    expect(later).toMatchObject({ complete: 1, inProgress: 1, inSyncReplicas: 1, copiedBytes: 412 * MiB, bytesToCopy: 960 * MiB, sizedPartitions: 1 });
    expect(progressBar(early, 12)).toBe('[#######-----] 1/2 partitions complete, 100 MiB / 960 MiB copied');
    expect(progressBar(later, 12)).toBe('[#########---] 1/2 partitions complete, 412 MiB / 960 MiB copied');
    // Without sizes the same state shows only the replica count: the bar stands at the completed partition.
    expect(progressBar(summarize([moving(0, 2), done]), 12)).toBe('[######------] 1/2 partitions complete, 1/2 target replicas in sync');
  });

  it('with sizes for only some moving partitions it says so and shows the replica count too', () => {
    const s = summarize([withCopyProgress(moving(0, 2), sizes({ 1: { 't-0': 1000, 't-1': 1000 }, 2: { 't-0': 500 } })), withCopyProgress(moving(1, 3), sizes({ 1: { 't-1': 1000 } }))]);
    expect(s).toMatchObject({ sizedPartitions: 1, copiedBytes: 500, bytesToCopy: 1000, replicaProgress: 0.5 });
    expect(progressBar(s, 8)).toBe('[##------] 0/2 partitions complete, 500 B / 1000 B copied (sizes unknown for 1 moving partition), 0/2 target replicas in sync');
  });

  it('formats bytes in binary units', () => {
    expect([0, 1023, 1024, 1536, 99.96 * 1024, 412 * MiB, 5 * 1024 * MiB].map(formatBytes)).toEqual(['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '100.0 KiB', '412 MiB', '5.0 GiB']);
  });
});

describe('logDirsArgs', () => {
  it('reads comma-separated or repeated broker ids and topics; absent means all', () => {
    expect(logDirsArgs({})).toEqual({ brokers: null, topics: null });
    expect(logDirsArgs({ broker: ['3,1', '2', '1'], topics: 'a, b,a' })).toEqual({ brokers: [1, 2, 3], topics: ['a', 'b'] });
  });

  it('refuses bad broker ids, empty lists and bad topic names, naming the option', () => {
    expect(() => logDirsArgs({ broker: ['x'] })).toThrow(/--broker must be an integer in 0\.\.2147483647, got "x"/);
    expect(() => logDirsArgs({ broker: ['-1'] })).toThrow(UsageError);
    expect(() => logDirsArgs({ broker: [','] })).toThrow(/--broker names no broker/);
    expect(() => logDirsArgs({ topics: ' , ' })).toThrow(/--topics names no topic/);
    expect(() => logDirsArgs({ topics: 'ok,bad/name' })).toThrow(/invalid topic name "bad\/name"/);
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
