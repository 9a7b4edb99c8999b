import type { Clock, Rng, Timer } from '@tributary/common';
import type { FetchRequest, FetchResponse, FetchSnapshotRequest, Message } from '@tributary/raft';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcRaftTransport, startGrpcServer, stopGrpcServer, type GrpcServer, type TransportLimits } from '../src/index.ts';

const timer: Timer = {
  after(ms, fn) {
    const h = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(h) };
  },
};
const clock: Clock = { nowMs: () => Date.now(), monotonicMs: () => performance.now() };
const rng: Rng = { next: () => 0.5, int: (b) => Math.floor(b / 2) };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

interface Side {
  transport: GrpcRaftTransport;
  inbox: Message[];
  server: GrpcServer | null;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** Two nodes (1 and 2) of a 3-voter cluster; node 3's address has no server. */
async function pair(limits: Partial<TransportLimits> = {}): Promise<[Side, Side]> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const peers = new Map([1, 2, 3].map((id, i) => [id, `127.0.0.1:${ports[i]}`]));
  const sides: Side[] = [];
  for (const id of [1, 2]) {
    const inbox: Message[] = [];
    const transport = new GrpcRaftTransport({
      nodeId: id,
      clusterId: 'c1',
      voters: [1, 2, 3],
      peers,
      deliver: (m) => inbox.push(m),
      local: () => ({ epoch: 5, leaderId: null }),
      describeQuorum: () => null,
      timer,
      clock,
      rng,
      limits: { inboundAnswerTimeoutMs: 300, fetchMaxWaitMs: 0, ...limits },
    });
    const { server } = await startGrpcServer(peers.get(id)!, (s) => transport.addTo(s));
    sides.push({ transport, inbox, server });
    cleanups.push(async () => {
      await transport.close();
      await stopGrpcServer(server);
    });
  }
  return [sides[0]!, sides[1]!];
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Bytes as hex, so a Buffer and a Uint8Array with the same content compare equal. */
function normalize(m: Message): unknown {
  return JSON.parse(JSON.stringify(m, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('hex') : v)));
}

const fetchRequest = (correlationId: number, fetchOffset = 3): FetchRequest => ({ type: 'FetchRequest', from: 1, to: 2, epoch: 5, fetchOffset, lastFetchedEpoch: 5, correlationId });

describe('GrpcRaftTransport', () => {
  it('carries every request and its answer unchanged', async () => {
    const [a, b] = await pair();
    const requests: Message[] = [
      { type: 'VoteRequest', from: 1, to: 2, epoch: 5, preVote: true, lastOffsetEpoch: 4, lastOffset: 17, correlationId: 2 ** 40 + 1 },
      { type: 'BeginQuorumEpochRequest', from: 1, to: 2, epoch: 5, leaderId: 1, correlationId: 11 },
      { type: 'EndQuorumEpochRequest', from: 1, to: 2, epoch: 5, leaderId: 1, preferredSuccessors: [2, 3], correlationId: 12 },
      fetchRequest(13),
    ];
    const responses: Message[] = [
      { type: 'VoteResponse', from: 2, to: 1, epoch: 5, requestEpoch: 5, preVote: true, voteGranted: true, leaderId: null, correlationId: 2 ** 40 + 1 },
      { type: 'BeginQuorumEpochResponse', from: 2, to: 1, epoch: 5, leaderId: 1, error: 'none', correlationId: 11 },
      { type: 'EndQuorumEpochResponse', from: 2, to: 1, epoch: 6, leaderId: null, error: 'fenced-epoch', correlationId: 12 },
      {
        type: 'FetchResponse', from: 2, to: 1, epoch: 5, leaderId: 2, error: 'none', highWatermark: 4, correlationId: 13,
        entries: [
          { offset: 3, epoch: 5, kind: 'leader-change', data: new Uint8Array(Buffer.from('{"leaderId":2}')) },
          { offset: 4, epoch: 5, kind: 'data', data: new Uint8Array([1, 2, 3]) },
        ],
        divergingEpoch: null,
        snapshotId: null,
      },
    ];
    for (let i = 0; i < requests.length; i++) {
      a.transport.send(requests[i]!);
      const got = await until('the request', () => b.inbox.shift());
      expect(got).toEqual(requests[i]);
      b.transport.send(responses[i]!);
      const answer = await until('the answer', () => a.inbox.shift());
      expect(normalize(answer)).toEqual(normalize(responses[i]!));
    }
    const diverging: FetchResponse = { type: 'FetchResponse', from: 2, to: 1, epoch: 5, leaderId: 2, error: 'none', highWatermark: 9, correlationId: 14, entries: [], divergingEpoch: { epoch: 3, endOffset: 7 }, snapshotId: { endOffset: 5, epoch: 2 } };
    a.transport.send(fetchRequest(14));
    await until('fetch', () => b.inbox.shift());
    b.transport.send(diverging);
    expect(await until('answer', () => a.inbox.shift())).toEqual(diverging);
  });

  it('streams a snapshot chunk in bounded pieces and reassembles it', async () => {
    const [a, b] = await pair({ snapshotPieceBytes: 64 * 1024 });
    const request: FetchSnapshotRequest = { type: 'FetchSnapshotRequest', from: 1, to: 2, epoch: 5, snapshotId: { endOffset: 100, epoch: 4 }, position: 0, correlationId: 21 };
    a.transport.send(request);
    expect(await until('request', () => b.inbox.shift())).toEqual(request);
    const chunk = new Uint8Array(300 * 1024).map((_, i) => i % 251);
    b.transport.send({ type: 'FetchSnapshotResponse', from: 2, to: 1, epoch: 5, leaderId: 2, error: 'none', snapshotId: { endOffset: 100, epoch: 4 }, size: 1_000_000, position: 0, chunk, correlationId: 21 });
    const answer = await until('chunk', () => a.inbox.shift());
    expect(answer.type).toBe('FetchSnapshotResponse');
    if (answer.type !== 'FetchSnapshotResponse') return;
    expect(answer.size).toBe(1_000_000);
    expect(Buffer.from(answer.chunk).equals(Buffer.from(chunk))).toBe(true);
  });

  it('holds an answer with nothing new (long poll) until woken, then answers with what is new', async () => {
    const [a, b] = await pair({ fetchMaxWaitMs: 2000 });
    const empty = (correlationId: number, highWatermark: number, entries: FetchResponse['entries'] = []): FetchResponse => ({
      type: 'FetchResponse', from: 2, to: 1, epoch: 5, leaderId: 2, error: 'none', highWatermark, correlationId, entries, divergingEpoch: null, snapshotId: null,
    });
    // First answer: the fetcher has not been told this high watermark yet, so it goes at once.
    a.transport.send(fetchRequest(31));
    await until('fetch', () => b.inbox.shift());
    b.transport.send(empty(31, 3));
    expect(await until('first answer', () => a.inbox.shift())).toMatchObject({ correlationId: 31, highWatermark: 3 });
    // Second: nothing new, parked.
    a.transport.send(fetchRequest(32));
    const parkedRequest = await until('fetch', () => b.inbox.shift());
    b.transport.send(empty(32, 3));
    await new Promise((r) => setTimeout(r, 100));
    expect(a.inbox).toHaveLength(0);
    expect(b.transport.stats.parked).toBe(1);
    // The log moved: the request is delivered again and its new answer goes out.
    b.transport.wake();
    expect(await until('re-delivery', () => b.inbox.shift())).toEqual(parkedRequest);
    b.transport.send(empty(32, 3, [{ offset: 3, epoch: 5, kind: 'data', data: new Uint8Array([9]) }]));
    expect(await until('answer', () => a.inbox.shift())).toMatchObject({ correlationId: 32, entries: [{ offset: 3 }] });
  });

  it('drops sends beyond the in-flight bound, fails unanswered calls, and backs off a failing peer', async () => {
    const [a, b] = await pair({ maxInFlightPerPeer: 2, inboundAnswerTimeoutMs: 200 });
    for (let i = 0; i < 5; i++) a.transport.send(fetchRequest(40 + i));
    expect(a.transport.stats.droppedRequests).toBe(3);
    await until('two requests', () => (b.inbox.length === 2 ? true : undefined));
    // Nobody answers: the server gives up after 200 ms, the caller counts failures and backs off.
    await until('failures', () => (a.transport.stats.callsFailed === 2 ? true : undefined));
    expect(b.transport.stats.inboundCalls).toBe(2);
    a.transport.send(fetchRequest(50));
    expect(a.transport.stats.droppedRequests).toBe(4);
    // A late answer for a call that is gone is dropped.
    b.transport.send({ type: 'FetchResponse', from: 2, to: 1, epoch: 5, leaderId: 2, error: 'none', highWatermark: 0, correlationId: 40, entries: [], divergingEpoch: null, snapshotId: null });
    expect(b.transport.stats.droppedResponses).toBe(1);
    // A peer with no server: the call fails and later sends are dropped while backing off.
    a.transport.send({ type: 'VoteRequest', from: 1, to: 3, epoch: 5, preVote: false, lastOffsetEpoch: 5, lastOffset: 1, correlationId: 60 });
    await until('connection failure', () => (a.transport.stats.callsFailed === 3 ? true : undefined));
    a.transport.send({ type: 'VoteRequest', from: 1, to: 3, epoch: 5, preVote: false, lastOffsetEpoch: 5, lastOffset: 1, correlationId: 61 });
    expect(a.transport.stats.droppedRequests).toBe(5);
  });
});
