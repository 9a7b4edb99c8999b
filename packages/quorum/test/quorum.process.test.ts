/**
 * A real quorum: three `main.ts` processes on loopback, each with its own data directory. Every wait is bounded.
 */
import * as grpc from '@grpc/grpc-js';
import { errorReason, raftServiceClient } from '@tributary/rpc';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QuorumCallError } from '../src/client.ts';
import { ProcessCluster } from './process-cluster.ts';
import { waitFor } from './support.ts';

let cluster: ProcessCluster | null = null;

afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

async function start(options: Parameters<typeof ProcessCluster.start>[0] = {}): Promise<ProcessCluster> {
  cluster = await ProcessCluster.start(options);
  return cluster;
}

async function maps(c: ProcessCluster, ids: number[]): Promise<string[]> {
  return Promise.all(ids.map(async (id) => JSON.stringify((await c.client.read(id)).entries)));
}

/** Until every listed node has applied the same map (and at least `minApplied`). */
async function converged(c: ProcessCluster, ids: number[], minApplied: number, timeoutMs = 10_000): Promise<string> {
  return waitFor(`nodes ${ids.join(',')} to apply the same map`, timeoutMs, async () => {
    const reads = await Promise.all(ids.map((id) => c.client.read(id).catch(() => null)));
    if (reads.some((r) => r === null || r.appliedOffset < minApplied)) return null;
    const texts = reads.map((r) => JSON.stringify(r!.entries));
    return texts.every((t) => t === texts[0]) ? texts[0]! : null;
  });
}

describe('a 3-voter quorum of processes', () => {
  it('elects a leader and commits proposals on every voter', async () => {
    const c = await start();
    const leader = await c.waitForLeader();
    const results = [];
    for (let i = 0; i < 20; i++) results.push(await c.client.propose(`key-${i % 7}`, `value-${i}`));
    expect(results.every((r) => r.nodeId === leader)).toBe(true);
    // Offsets are dense and increasing (one entry per proposal after the leader-change record).
    for (let i = 1; i < results.length; i++) expect(results[i]!.offset).toBe(results[i - 1]!.offset + 1);
    const concurrent = await Promise.all(Array.from({ length: 200 }, (_, i) => c.client.propose(`c-${i}`, `${i}`)));
    expect(new Set(concurrent.map((r) => r.offset)).size).toBe(200);
    const map = JSON.parse(await converged(c, c.ids, concurrent.reduce((m, r) => Math.max(m, r.offset), 0) + 1)) as { key: string; value: string }[];
    expect(map.find((e) => e.key === 'key-6')?.value).toBe('value-13');
    expect(map.filter((e) => e.key.startsWith('c-'))).toHaveLength(200);
  });

  it('kill -9 of the leader: a new leader commits within 2 s, and the old leader catches up after a restart (3 runs)', async () => {
    const c = await start();
    let leader = await c.waitForLeader();
    for (let i = 0; i < 10; i++) await c.client.propose(`before-${i}`, 'x');
    const failoverMs: number[] = [];
    for (let run = 0; run < 3; run++) {
      const killedAt = performance.now();
      await c.kill(leader, 'SIGKILL');
      const committed = await c.client.propose(`after-kill-${run}`, `run-${run}`, 10_000);
      failoverMs.push(performance.now() - killedAt);
      expect(committed.nodeId).not.toBe(leader);
      // More writes while the old leader is down, then it comes back and must converge.
      for (let i = 0; i < 5; i++) await c.client.propose(`during-${run}-${i}`, 'y');
      const old = leader;
      await c.startNode(old);
      const r = await c.client.propose(`restarted-${run}`, 'z');
      await converged(c, c.ids, r.offset + 1);
      leader = await c.waitForLeader();
    }
    console.log(`failover ms: ${failoverMs.map((ms) => ms.toFixed(0)).join(', ')}`);
    for (const ms of failoverMs) expect(ms).toBeLessThan(2000);
  });

  it('with two voters stopped the last one commits nothing', async () => {
    const c = await start();
    const leader = await c.waitForLeader();
    for (let i = 0; i < 5; i++) await c.client.propose(`k${i}`, 'v');
    const survivor = leader;
    const before = await c.client.read(survivor);
    for (const id of c.ids) if (id !== survivor) await c.kill(id);
    // Whatever it believes (still leader until check-quorum, then resigned/candidate), nothing commits.
    const error = await c.client.proposeTo(survivor, 'lonely', 'write', 3000).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(QuorumCallError);
    // Our deadline passes first (the node would answer 'timeout' after its own 5 s), or it already stepped down.
    expect([grpc.status.DEADLINE_EXCEEDED, grpc.status.FAILED_PRECONDITION]).toContain((error as QuorumCallError).code);
    await waitFor('the lone node to stop leading', 5000, async () => (await c.client.describe(survivor)).role !== 'leader');
    const after = await c.client.read(survivor);
    expect(after.entries).toEqual(before.entries);
    expect(after.entries.find((e) => e.key === 'lonely')).toBeUndefined();
    await expect(c.client.proposeTo(survivor, 'lonely-2', 'write', 2000)).rejects.toMatchObject({ reason: 'not-leader' });
  });

  it('a far-behind follower catches up through a snapshot after the leader truncated its log', async () => {
    const c = await start();
    const leader = await c.waitForLeader();
    const follower = c.ids.find((id) => id !== leader)!;
    await c.client.propose('early', '1');
    await converged(c, c.ids, 2);
    await c.kill(follower);
    let last = 0;
    for (let batch = 0; batch < 5; batch++) {
      const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => c.client.propose(`late-${batch}-${i}`, `${batch * 100 + i}`)));
      last = Math.max(last, ...rs.map((r) => r.offset));
    }
    // Snapshot every live node: the leader's log now starts past everything the stopped follower has.
    for (const id of c.ids) if (id !== follower) expect((await c.client.createSnapshot(id)).endOffset).toBeGreaterThan(last);
    const leaderState = await c.client.describe(leader);
    expect(leaderState.logStartOffset).toBeGreaterThan(last);
    await c.startNode(follower);
    await converged(c, c.ids, last + 1, 15_000);
    const caughtUp = await c.client.describe(follower);
    expect(caughtUp.snapshotsInstalled).toBeGreaterThanOrEqual(1);
    expect(caughtUp.logStartOffset).toBeGreaterThan(last);
    expect((await c.client.read(follower)).entries).toHaveLength(501);
  });

  it('answers bad RaftService input with the right error and changes no state', async () => {
    const c = await start({ clusterId: 'test-cluster' });
    const leader = await c.waitForLeader();
    for (let i = 0; i < 5; i++) await c.client.propose(`k${i}`, 'v');
    const target = c.ids.find((id) => id !== leader)!;
    await converged(c, c.ids, 6);
    const quorumStateFile = join(c.dataDir(target), 'quorum-state.json');
    const stateBefore = readFileSync(quorumStateFile, 'utf8');
    const mapBefore = (await maps(c, [target]))[0];
    const epoch = (await c.client.describe(target)).epoch;

    const Client = raftServiceClient();
    const raw = new Client(c.addresses.get(target)!, grpc.credentials.createInsecure()) as unknown as Record<string, (req: object, opts: object, cb: (err: grpc.ServiceError | null) => void) => void> & grpc.Client;
    const call = (method: string, req: object): Promise<{ code: grpc.status; reason: string } | null> =>
      new Promise((resolve) => {
        const opts = { deadline: new Date(Date.now() + 3000) };
        if (method === 'FetchSnapshot') {
          const stream = (raw as unknown as Record<string, (req: object, opts: object) => grpc.ClientReadableStream<unknown>>)[method]!.call(raw, req, opts);
          stream.on('data', () => {});
          stream.on('error', (err: grpc.ServiceError) => resolve({ code: err.code, reason: errorReason(err) }));
          stream.on('end', () => resolve(null));
          return;
        }
        raw[method]!.call(raw, req, opts, (err) => resolve(err ? { code: err.code, reason: errorReason(err) } : null));
      });
    const header = (over: object = {}): object => ({ clusterId: 'test-cluster', senderId: leader, receiverId: target, epoch, correlationId: 777, ...over });
    const other = c.ids.find((id) => id !== leader && id !== target)!;

    const cases: [string, string, object, grpc.status, string][] = [
      ['missing header', 'Fetch', { fetchOffset: 0, lastFetchedEpoch: 0 }, grpc.status.INVALID_ARGUMENT, 'malformed'],
      ['negative fetch offset', 'Fetch', { header: header(), fetchOffset: -5, lastFetchedEpoch: 0 }, grpc.status.INVALID_ARGUMENT, 'malformed'],
      ['last fetched epoch beyond the epoch', 'Fetch', { header: header(), fetchOffset: 1, lastFetchedEpoch: epoch + 1 }, grpc.status.INVALID_ARGUMENT, 'malformed'],
      ['absurd long-poll wait', 'Fetch', { header: header(), fetchOffset: 1, lastFetchedEpoch: 1, maxWaitMs: 3_600_000 }, grpc.status.INVALID_ARGUMENT, 'malformed'],
      ['bad snapshot id', 'FetchSnapshot', { header: header(), snapshotId: { endOffset: 0, epoch: 0 }, position: 0 }, grpc.status.INVALID_ARGUMENT, 'malformed'],
      ['begin epoch naming another leader', 'BeginQuorumEpoch', { header: header({ senderId: other }), leaderId: leader }, grpc.status.INVALID_ARGUMENT, 'malformed'],
      ['successors that are not voters', 'EndQuorumEpoch', { header: header(), leaderId: leader, preferredSuccessors: [42] }, grpc.status.INVALID_ARGUMENT, 'malformed'],
      ['a sender outside the voter set', 'Vote', { header: header({ senderId: 99 }), preVote: false, lastOffsetEpoch: epoch, lastOffset: 1000 }, grpc.status.PERMISSION_DENIED, 'unknown-sender'],
      ['a fetch from an unknown observer', 'Fetch', { header: header({ senderId: 99 }), fetchOffset: 0, lastFetchedEpoch: 0 }, grpc.status.PERMISSION_DENIED, 'unknown-sender'],
      ['another cluster', 'Vote', { header: header({ clusterId: 'other-cluster' }), preVote: false, lastOffsetEpoch: epoch, lastOffset: 1000 }, grpc.status.FAILED_PRECONDITION, 'cluster-mismatch'],
      ['another receiver', 'Vote', { header: header({ receiverId: 7 }), preVote: false, lastOffsetEpoch: epoch, lastOffset: 1000 }, grpc.status.FAILED_PRECONDITION, 'wrong-receiver'],
      ['an epoch far in the future (vote)', 'Vote', { header: header({ epoch: epoch + 1_000_000 }), preVote: false, lastOffsetEpoch: 1, lastOffset: 1_000_000 }, grpc.status.OUT_OF_RANGE, 'epoch-too-far'],
      ['an epoch far in the future (begin epoch)', 'BeginQuorumEpoch', { header: header({ senderId: other, epoch: 2_000_000_000 }), leaderId: other }, grpc.status.OUT_OF_RANGE, 'epoch-too-far'],
      ['a second leader for the current epoch', 'BeginQuorumEpoch', { header: header({ senderId: other }), leaderId: other }, grpc.status.FAILED_PRECONDITION, 'conflicting-leader'],
      ['a describe for another cluster', 'DescribeQuorum', { header: header({ clusterId: 'nope' }) }, grpc.status.FAILED_PRECONDITION, 'cluster-mismatch'],
    ];
    for (const [name, method, req, code, reason] of cases) {
      const result = await call(method, req);
      expect(result, name).toEqual({ code, reason });
    }
    // Bytes that are not a protobuf message at all never reach the handler.
    const garbage = await new Promise<grpc.ServiceError | null>((resolve) =>
      raw.makeUnaryRequest('/tributary.raft.v1.RaftService/Vote', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1]), { deadline: new Date(Date.now() + 3000) }, (err) => resolve(err)),
    );
    expect(garbage?.code).toBe(grpc.status.INTERNAL);
    raw.close();

    expect(readFileSync(quorumStateFile, 'utf8')).toBe(stateBefore);
    expect((await maps(c, [target]))[0]).toBe(mapBefore);
    const after = await c.client.describe(target);
    expect(after.epoch).toBe(epoch);
    expect(after.leaderId).toBe(leader);
    // The quorum still works.
    const r = await c.client.propose('after-bad-input', 'ok');
    await converged(c, c.ids, r.offset + 1);
  });
});
