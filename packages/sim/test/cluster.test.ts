/**
 * The cluster simulation itself: determinism, that the faults and paths it claims to exercise happen, that the
 * checker catches a planted controller bug, and the unit rules of the checker. Every seed that ever failed stays
 * here as a named regression test.
 */
import { seededRng } from '@tributary/common';
import { MetadataDelta, MetadataImage, randomUuid } from '@tributary/metadata';
import { describe, expect, it } from 'vitest';
import { partitionProblems, SimScheduler } from '../src/index.ts';
import { BATCH_TIMEOUT_MS, expectOk, run } from './cluster-helpers.ts';

describe('cluster simulation', () => {
  it('is deterministic: the same seed gives the same run', async () => {
    const a = await run({ seed: 4242, steps: 1500, traceLines: 400 });
    const b = await run({ seed: 4242, steps: 1500, traceLines: 400 });
    expectOk(a);
    expect(a.stats).toEqual(b.stats);
    expect(a.traceTail).toEqual(b.traceTail);
    const c = await run({ seed: 4243, steps: 1500, traceLines: 400 });
    expect(c.traceTail).not.toEqual(a.traceTail);
  }, BATCH_TIMEOUT_MS);

  it('exercises what it claims: failovers, crashes, fencing, snapshots, ISR changes, the workload', async () => {
    const totals: Record<string, number> = {};
    for (let seed = 9001; seed <= 9010; seed++) {
      const r = await run({ seed, steps: 2500 });
      expectOk(r);
      for (const [key, value] of Object.entries(r.stats)) totals[key] = (totals[key] ?? 0) + value;
    }
    for (const key of ['activations', 'controllerCrashes', 'brokerCrashes', 'brokerPauses', 'controlledShutdowns', 'partitions', 'fences', 'unfences',
      'leaderlessPartitions', 'raftSnapshots', 'brokerSnapshotInstalls', 'alterPartitionsOk', 'topicsCreated', 'workloadOk', 'imagesCompared']) {
      expect(totals[key], key).toBeGreaterThan(0);
    }
    // More than one controller became active over the runs (failovers), each in its own epoch.
    expect(totals.activations!).toBeGreaterThan(10);
  }, BATCH_TIMEOUT_MS);

  it('runs with 3, 4 and 5 brokers', async () => {
    for (const brokers of [3, 4, 5]) expectOk(await run({ seed: 500 + brokers, steps: 1500, brokers }));
  }, BATCH_TIMEOUT_MS);

  it('catches a planted bug: a fence committed without moving the fenced broker\'s leaderships', async () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 10 && failures.length < 2; seed++) {
      const r = await run({ seed, steps: 2500, plantedBug: 'keep-fenced-leader' });
      if (!r.ok) failures.push(r.failure!);
    }
    expect(failures.length).toBe(2);
    for (const f of failures) expect(f).toMatch(/InvariantViolation: committed image at offset \d+: .*leader \d+ is fenced/);
    // The same seeds without the bug pass.
    expectOk(await run({ seed: 2, steps: 2500 }));
  }, BATCH_TIMEOUT_MS);
});

describe('cluster checker rules', () => {
  const image = (records: Parameters<MetadataDelta['replayAll']>[0]): MetadataImage => {
    const d = new MetadataDelta(MetadataImage.EMPTY);
    d.replayAll(records);
    return d.apply();
  };
  const listeners = [{ name: 'PLAINTEXT', host: 'h', port: 1 }];
  const broker = (brokerId: number, brokerEpoch: number, fenced: boolean) => ({
    type: 'register-broker' as const, brokerId, incarnationId: randomUuid(seededRng(brokerId), () => false), brokerEpoch, listeners, rack: null, fenced, inControlledShutdown: false,
  });
  const topicId = 'q1dVqzTOT9eR_4dSIR0nyA';

  it('partitionProblems passes a healthy image and names a fenced leader (replay itself refuses the other shapes)', () => {
    const ok = image([broker(1, 1, false), broker(2, 2, false), { type: 'topic', name: 't', topicId }, { type: 'partition', topicId, partitionId: 0, replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 0 }]);
    expect(partitionProblems(ok)).toEqual([]);
    const fencedLeader = image([broker(1, 1, true), broker(2, 2, false), { type: 'topic', name: 't', topicId }, { type: 'partition', topicId, partitionId: 0, replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 0 }]);
    expect(partitionProblems(fencedLeader)).toEqual(['t-0: leader 1 is fenced (broker epoch 1)']);
  });

  it('SimScheduler fires timers in time order, never a cancelled one or a dead owner\'s', () => {
    const time = new SimScheduler(10);
    const fired: string[] = [];
    const a = time.timerFor(1);
    const b = time.timerFor(2);
    a.after(20, () => fired.push('a20'));
    a.after(5, () => fired.push('a5'));
    b.after(5, () => fired.push('b5'));
    a.after(10, () => fired.push('a10')).cancel();
    for (const run of time.tick()) run();
    expect(fired).toEqual(['a5', 'b5']);
    time.cancelOwner(1);
    for (const run of time.tick()) run();
    expect(fired).toEqual(['a5', 'b5']);
    expect(time.nowMs()).toBe(20);
  });
});

describe('cluster simulation: regression seeds', () => {
  // Found by the soak (seeds 5000..5399 x 4000 steps). A real bug in @tributary/controller, reported, not fixed here:
  // b2 (at offset 50) was receiving c2's metadata snapshot at 58 in chunks when c2 crashed; it asked the new active
  // controller c3 to continue ({nextOffset: 58, position: 749}). QuorumController#snapshotChunk did not have that
  // snapshot, and its cached one (nextOffset 38, still above its tail start) is served again from position 0; the
  // follower rules (MetadataFollower's, which SimBroker follows) install any snapshot starting at position 0, so
  // the broker's metadata went back from 50 to 38. Fix (controller package): build a fresh snapshot when the cached
  // one ends below the follower's fromOffset, and have the follower refuse a snapshot below its next offset. Once
  // fixed, this seed must pass: replace the expectation with expectOk(result).
  // Fixed in QuorumController#snapshotChunk (a fresh snapshot when the cached one ends below the follower's
  // fromOffset; a controller behind the follower answers unavailable). The sim broker deliberately lacks the
  // follower-side refusal MetadataFollower now has, so this seed checks the controller alone.
  it('seed 5364: a broker mid-snapshot moved to a new controller is never sent an older snapshot', async () => {
    const result = await run({ seed: 5364, steps: 4000 });
    expectOk(result);
  }, BATCH_TIMEOUT_MS);
});
