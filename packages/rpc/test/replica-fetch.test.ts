import { ManualClock, type Clock, type Rng, type Timer } from '@tributary/common';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ReplicaFetchClient,
  ReplicaFetchError,
  addReplicaService,
  FLOW_CONTROL_WINDOW_BYTES,
  grpcChannelOptions,
  replicaFetchResponseBytes,
  replicaServiceClient,
  startGrpcServer,
  stopGrpcServer,
  validateReplicaFetchRequest,
  type ReplicaFetchHandler,
  type ReplicaFetchLimits,
  type ReplicaFetchRequest,
  type ReplicaFetchRequestBody,
  type ReplicaFetchResponse,
  type ReplicaService,
} from '../src/index.ts';

const MiB = 1024 * 1024;
const MAX = Number.MAX_SAFE_INTEGER;
const TOPIC_A = 'AAAAAAAAAAAAAAAAAAAAAQ';
const TOPIC_B = 'zzzzzzzzzzzzzzzzzzzz_-';

const timer: Timer = {
  after(ms, fn) {
    const h = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(h) };
  },
};
const clock: Clock = { nowMs: () => Date.now(), monotonicMs: () => performance.now() };
const rng: Rng = { next: () => 0.5, int: (b) => Math.floor(b / 2) };

/** A leader whose answers the test scripts; records every request and every aborted signal. */
class FakeLeader implements ReplicaFetchHandler {
  readonly requests: ReplicaFetchRequest[] = [];
  readonly aborted: number[] = [];
  answer: (request: ReplicaFetchRequest, signal: AbortSignal) => ReplicaFetchResponse | Promise<ReplicaFetchResponse> = (r) => empty(r);
  async fetch(request: ReplicaFetchRequest, signal: AbortSignal): Promise<ReplicaFetchResponse> {
    this.requests.push(request);
    signal.addEventListener('abort', () => this.aborted.push(request.sequence));
    return this.answer(request, signal);
  }
}

function empty(r: ReplicaFetchRequest): ReplicaFetchResponse {
  return { sequence: r.sequence, errorCode: 0, errorMessage: '', partitions: [] };
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts (a long poll that the stream's end cuts short). */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    });
  });
}

const body = (over: Partial<ReplicaFetchRequestBody> = {}): ReplicaFetchRequestBody => ({
  clusterId: 'c1',
  replicaId: 2,
  brokerEpoch: 7,
  maxWaitMs: 0,
  minBytes: 1,
  maxBytes: MiB,
  partitions: [{ topicId: TOPIC_A, partition: 0, currentLeaderEpoch: 3, fetchOffset: 10, lastFetchedEpoch: 3, logStartOffset: 0, flushedOffset: 10, maxBytes: MiB }],
  ...over,
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Leader {
  leader: FakeLeader;
  service: ReplicaService;
  server: grpc.Server;
  address: string;
}

async function startLeader(limits: Partial<ReplicaFetchLimits> = {}, address = '127.0.0.1:0', leader = new FakeLeader()): Promise<Leader> {
  let service: ReplicaService | null = null;
  // grpc-js's size limits are per server: start it with the service's maxMessageBytes (64 MiB by default).
  const maxMessageBytes = limits.maxMessageBytes ?? 64 * MiB;
  const { server, port } = await startGrpcServer(address, (s) => (service = addReplicaService(s, { clusterId: 'c1', handler: leader, limits })), { maxMessageBytes });
  cleanups.push(() => stopGrpcServer(server, 100));
  return { leader, service: service!, server, address: `127.0.0.1:${port}` };
}

function client(address: string, opts: { limits?: Partial<ReplicaFetchLimits>; timer?: Timer; clock?: Clock } = {}): ReplicaFetchClient {
  const c = new ReplicaFetchClient({ address, timer: opts.timer ?? timer, clock: opts.clock ?? clock, rng, limits: opts.limits });
  cleanups.push(() => c.close());
  return c;
}

/** A stream without ReplicaFetchClient's checks, to send what a broken follower would. */
function rawStream(address: string, maxMessageBytes = 64 * MiB) {
  const Client = replicaServiceClient();
  const c = new Client(address, grpc.credentials.createInsecure(), grpcChannelOptions({ maxMessageBytes }));
  const stream = (c as unknown as { Fetch(): grpc.ClientDuplexStream<object, ReplicaFetchResponse> }).Fetch();
  const responses: ReplicaFetchResponse[] = [];
  const ended = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
  stream.on('data', (r: ReplicaFetchResponse) => responses.push(r));
  stream.on('error', () => {});
  cleanups.push(() => {
    stream.cancel();
    c.close();
  });
  return { stream, responses, ended };
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

/** Records as base64: vitest's deep equality walks a 1 MiB Buffer byte by byte (seconds); string equality does not. */
function normalize(r: ReplicaFetchResponse): unknown {
  return { ...r, partitions: r.partitions.map((p) => ({ ...p, records: p.records.toString('base64') })) };
}

async function rejection(p: Promise<unknown>): Promise<ReplicaFetchError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ReplicaFetchError);
    return e as ReplicaFetchError;
  }
  throw new Error('expected the fetch to fail');
}

describe('ReplicaService / ReplicaFetchClient', () => {
  it('carries every field both ways: int64 near 2^53, -1 sentinels, null and set diverging epochs, empty and 1 MiB records', async () => {
    const { leader, address } = await startLeader();
    const c = client(address);
    const records = Buffer.alloc(MiB);
    for (let i = 0; i < records.length; i++) records[i] = (i * 31) % 251;
    const request: ReplicaFetchRequestBody = {
      clusterId: 'c1',
      replicaId: 2 ** 31 - 1,
      brokerEpoch: MAX,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 32 * MiB,
      partitions: [
        { topicId: TOPIC_A, partition: 0, currentLeaderEpoch: -1, fetchOffset: MAX, lastFetchedEpoch: 2 ** 31 - 1, logStartOffset: MAX - 1, flushedOffset: MAX - 2, maxBytes: 0 },
        { topicId: TOPIC_B, partition: 2 ** 31 - 1, currentLeaderEpoch: 5, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, flushedOffset: -1, maxBytes: 32 * MiB },
        { topicId: TOPIC_B, partition: 1, currentLeaderEpoch: 0, fetchOffset: 77, lastFetchedEpoch: 4, logStartOffset: 12, flushedOffset: 70, maxBytes: MiB },
      ],
    };
    const answer = (r: ReplicaFetchRequest): ReplicaFetchResponse => ({
      sequence: r.sequence,
      errorCode: 0,
      errorMessage: '',
      partitions: [
        { topicId: TOPIC_A, partition: 0, errorCode: -1, highWatermark: MAX, logStartOffset: -1, logEndOffset: MAX, divergingEpoch: { epoch: 2 ** 31 - 1, endOffset: MAX - 5 }, records: Buffer.alloc(0) },
        { topicId: TOPIC_B, partition: 2 ** 31 - 1, errorCode: 0, highWatermark: 0, logStartOffset: 0, logEndOffset: MiB, divergingEpoch: null, records },
        { topicId: TOPIC_B, partition: 1, errorCode: 74, highWatermark: -1, logStartOffset: 12, logEndOffset: 77, divergingEpoch: { epoch: -1, endOffset: -1 }, records: Buffer.alloc(0) },
      ],
    });
    leader.answer = answer;
    const got = await c.fetch(request);
    expect(leader.requests).toEqual([{ ...request, sequence: 1 }]);
    expect(normalize(got)).toEqual(normalize(answer(leader.requests[0]!)));
    expect(got.partitions[0]!.divergingEpoch).toEqual({ epoch: 2 ** 31 - 1, endOffset: MAX - 5 });
    expect(got.partitions[1]!.divergingEpoch).toBeNull();
    const received = got.partitions[1]!.records;
    expect(Buffer.isBuffer(received)).toBe(true);
    expect(received.byteLength).toBe(MiB);
    expect(received.equals(records)).toBe(true);
    // A view into the received gRPC message, not a copy of its own.
    expect(received.buffer.byteLength).toBeGreaterThan(received.byteLength);

    // A request-level error travels with its message and no partitions.
    leader.answer = (r) => ({ sequence: r.sequence, errorCode: 77, errorMessage: 'stale broker epoch 7 ⚠', partitions: [] });
    expect(await c.fetch(request)).toEqual({ sequence: 2, errorCode: 77, errorMessage: 'stale broker epoch 7 ⚠', partitions: [] });
    expect(c.stats).toMatchObject({ requests: 2, responses: 2, failures: 0, streamsOpened: 1 });
  });

  it('answers the requests of a stream in order, one at a time, each with its sequence number', async () => {
    const { leader, address, service } = await startLeader({ maxQueuedRequests: 4 });
    let inHandler = 0;
    let mostInHandler = 0;
    leader.answer = async (r, signal) => {
      inHandler++;
      mostInHandler = Math.max(mostInHandler, inHandler);
      // Later requests finish sooner: answers still leave in request order.
      await wait(60 - leader.requests.length * 10, signal);
      inHandler--;
      return empty(r);
    };
    const raw = rawStream(address);
    for (let s = 1; s <= 5; s++) raw.stream.write({ ...body(), sequence: s * 3 });
    await until('five answers', () => (raw.responses.length === 5 ? true : undefined));
    expect(raw.responses.map((r) => r.sequence)).toEqual([3, 6, 9, 12, 15]);
    expect(mostInHandler).toBe(1);
    expect(service.stats).toMatchObject({ requests: 5, responses: 5 });

    // The client numbers its requests 1, 2, 3 on one stream.
    const c = client(address);
    leader.answer = (r) => empty(r);
    const sequences: number[] = [];
    for (let i = 0; i < 3; i++) sequences.push((await c.fetch(body())).sequence);
    expect(sequences).toEqual([1, 2, 3]);
    expect(c.stats.streamsOpened).toBe(1);
    // One in flight: a second concurrent fetch is refused at once, not queued.
    leader.answer = async (r, signal) => {
      await wait(100, signal);
      return empty(r);
    };
    const first = c.fetch(body());
    const second = await rejection(c.fetch(body()));
    expect(second.reason).toBe('busy');
    expect((await first).sequence).toBe(4);
  });

  it('long-polls inside the handler; a timeout or a closed client aborts the handler signal', async () => {
    const { leader, address } = await startLeader();
    let release: (() => void) | null = null;
    leader.answer = (r, signal) =>
      new Promise((resolve, reject) => {
        // Data arrives when the test releases it, or the wait ends with an empty answer.
        const t = setTimeout(() => resolve(empty(r)), r.maxWaitMs);
        release = () => {
          clearTimeout(t);
          resolve({ ...empty(r), partitions: [{ topicId: TOPIC_A, partition: 0, errorCode: 0, highWatermark: 11, logStartOffset: 0, logEndOffset: 11, divergingEpoch: null, records: Buffer.from('batch') }] });
        };
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(signal.reason as Error);
        });
      });
    const c = client(address);
    // Woken by new data before the wait ends.
    const pending = c.fetch(body({ maxWaitMs: 10_000 }));
    await until('the handler to wait', () => (release ? true : undefined));
    release!();
    const woken = await pending;
    expect(woken.partitions[0]!.records.toString()).toBe('batch');
    // Nothing arrives: an empty answer when the wait ends.
    expect((await c.fetch(body({ maxWaitMs: 50 }))).partitions).toEqual([]);

    // The client's deadline passes first: it cancels the stream and the leader stops waiting.
    const late = await rejection(c.fetch(body({ maxWaitMs: 10_000 }), 150));
    expect(late.reason).toBe('timeout');
    expect(late.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await until('the handler signal to abort', () => (leader.aborted.includes(3) ? true : undefined));

    // Closing the client mid-poll aborts the handler as well.
    release = null;
    const c2 = client(address);
    const closing = c2.fetch(body({ maxWaitMs: 10_000 }));
    await until('the second handler to wait', () => (release ? true : undefined));
    c2.close();
    expect((await rejection(closing)).reason).toBe('closed');
    await until('the handler signal to abort', () => (leader.aborted.length === 2 ? true : undefined));
    expect(leader.aborted).toEqual([3, 1]);
  });

  it('refuses malformed requests, naming the field, before the handler sees them', async () => {
    const { leader, address, service } = await startLeader({ maxPartitions: 3 });
    const partition = body().partitions[0]!;
    const cases: [object, string][] = [
      [{ ...body(), sequence: 2 ** 53 + 2 }, 'sequence'],
      [{ ...body(), sequence: 1, replicaId: -1 }, 'replica_id'],
      [{ ...body(), sequence: 1, maxWaitMs: 30_001 }, 'max_wait_ms'],
      [{ ...body(), sequence: 1, maxBytes: 0 }, 'max_bytes'],
      [{ ...body(), sequence: 1, minBytes: MiB + 1 }, 'min_bytes'],
      [{ ...body(), sequence: 1, brokerEpoch: -2 }, 'broker_epoch'],
      [{ ...body(), sequence: 1, partitions: [{ ...partition, fetchOffset: -5 }] }, 'partitions[0].fetch_offset'],
      [{ ...body(), sequence: 1, partitions: [partition, { ...partition, topicId: 'not-a-uuid' }] }, 'partitions[1].topic_id'],
      [{ ...body(), sequence: 1, partitions: [partition, partition] }, 'partitions[1].partition'],
      [{ ...body(), sequence: 1, partitions: [{ ...partition, flushedOffset: 11 }] }, 'partitions[0].flushed_offset'],
      [{ ...body(), sequence: 1, partitions: [{ ...partition, lastFetchedEpoch: -2 }] }, 'partitions[0].last_fetched_epoch'],
      [{ ...body(), sequence: 1, partitions: [{ ...partition, maxBytes: 33 * MiB }] }, 'partitions[0].max_bytes'],
      [{ ...body(), sequence: 1, partitions: [0, 1, 2, 3].map((p) => ({ ...partition, partition: p })) }, 'partitions'],
    ];
    for (const [request, field] of cases) {
      const raw = rawStream(address);
      raw.stream.write(request);
      const status = await raw.ended;
      expect(status.code, field).toBe(grpc.status.INVALID_ARGUMENT);
      expect(status.metadata.get('tributary-error')).toEqual(['malformed']);
      expect(status.details.startsWith(`malformed: ${field}: `), `${field}: ${status.details}`).toBe(true);
    }
    // A sequence that does not increase on a stream.
    const raw = rawStream(address);
    raw.stream.write({ ...body(), sequence: 5 });
    await until('the first answer', () => (raw.responses.length === 1 ? true : undefined));
    raw.stream.write({ ...body(), sequence: 5 });
    const status = await raw.ended;
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toContain('sequence: 5 is not above the previous 5');
    expect(leader.requests.map((r) => r.sequence)).toEqual([5]);
    expect(service.stats.failed['malformed']).toBe(cases.length + 1);

    // The client checks its own requests the same way and sends nothing.
    const c = client(address);
    const local = await rejection(c.fetch(body({ partitions: [{ ...partition, fetchOffset: 1.5 }] })));
    expect(local.reason).toBe('malformed');
    expect(local.message).toContain('partitions[0].fetch_offset: 1.5 is not a safe integer');
    expect(c.stats.streamsOpened).toBe(0);
    expect(validateReplicaFetchRequest({ ...body(), sequence: 1, partitions: new Array(10_001).fill(partition) })).toMatchObject({ ok: false, error: { details: 'partitions: 10001 entries, more than 10000' } });
  });

  it('refuses a follower of another cluster with FAILED_PRECONDITION', async () => {
    const { leader, address } = await startLeader();
    const c = client(address);
    const e = await rejection(c.fetch(body({ clusterId: 'other' })));
    expect(e.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(e.reason).toBe('cluster-mismatch');
    expect(e.message).toContain('cluster_id "other" is not this broker\'s cluster "c1"');
    expect(leader.requests).toHaveLength(0);
  });

  it('re-opens the stream after the leader restarts, backing off exponentially with jitter', async () => {
    const first = await startLeader();
    const port = first.address.split(':')[1]!;
    // A clock that never moves makes each scheduled wait exactly the jittered backoff (rng 0.5: 3/4 of it).
    const waits: number[] = [];
    const recording: Timer = { after: (ms, fn) => (waits.push(ms), timer.after(ms, fn)) };
    const c = client(first.address, { timer: recording, clock: new ManualClock(), limits: { backoffBaseMs: 40, backoffMaxMs: 320 } });
    await c.fetch(body());
    waits.length = 0;
    await stopGrpcServer(first.server, 0);
    // The open stream fails with the server: the first backoff starts here.
    await until('the stream to fail', () => (c.stats.failures === 1 ? true : undefined));
    const failures: string[] = [];
    for (let i = 0; i < 4; i++) failures.push((await rejection(c.fetch(body(), 1000))).reason);
    expect(failures.every((r) => r === 'unavailable'), failures.join()).toBe(true);
    // Deadline timers (1000 ms) interleave with the backoff waits: 3/4 of 40, 80, 160, 320.
    expect(waits.filter((ms) => ms !== 1000)).toEqual([30, 60, 120, 240]);
    const second = await startLeader({}, `127.0.0.1:${port}`);
    let answered: ReplicaFetchResponse | null = null;
    for (let i = 0; i < 20 && answered === null; i++) answered = await c.fetch(body(), 1000).catch(() => null);
    expect(answered).not.toBeNull();
    expect(second.leader.requests.length).toBeGreaterThan(0);
    // Capped at backoffMaxMs (320, jittered to 240) until the leader answers again.
    expect(waits.filter((ms) => ms !== 1000).slice(4).every((ms) => ms === 240)).toBe(true);
    expect(c.stats.streamsOpened).toBeGreaterThanOrEqual(2);

    // A moved leader: setAddress points later fetches at the new address.
    const third = await startLeader();
    c.setAddress(third.address);
    expect((await c.fetch(body())).partitions).toEqual([]);
    expect(third.leader.requests).toHaveLength(1);
  }, 30_000);

  it('fails a stream that queues more requests than allowed with RESOURCE_EXHAUSTED, aborting the handler', async () => {
    const { leader, address, service } = await startLeader({ maxQueuedRequests: 2 });
    leader.answer = async (r, signal) => {
      await wait(10_000, signal);
      return empty(r);
    };
    const raw = rawStream(address);
    for (let s = 1; s <= 4; s++) raw.stream.write({ ...body(), sequence: s });
    const status = await raw.ended;
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(status.metadata.get('tributary-error')).toEqual(['overloaded']);
    expect(status.details).toContain('3 fetches already waiting on this stream');
    await until('the handler signal to abort', () => (leader.aborted.length === 1 ? true : undefined));
    expect(leader.requests.map((r) => r.sequence)).toEqual([1]);
    expect(service.stats).toMatchObject({ streamsOpen: 0, responses: 0 });
    expect(service.stats.failed['overloaded']).toBe(1);
  });

  it('refuses an answer over the gRPC message limit with a clear error, on either side', async () => {
    const big = (r: ReplicaFetchRequest): ReplicaFetchResponse => ({
      ...empty(r),
      partitions: [{ topicId: TOPIC_A, partition: 0, errorCode: 0, highWatermark: 2, logStartOffset: 0, logEndOffset: 2, divergingEpoch: null, records: Buffer.alloc(2 * MiB) }],
    });
    // The leader's limit (1 MiB here, 64 MiB by default): checked before writing.
    const small = await startLeader({ maxMessageBytes: MiB, maxFetchBytes: MiB / 2 });
    small.leader.answer = big;
    const c = client(small.address, { limits: { maxMessageBytes: MiB, maxFetchBytes: MiB / 2 } });
    const e = await rejection(c.fetch(body({ maxBytes: MiB / 2, partitions: [{ ...body().partitions[0]!, maxBytes: MiB / 2 }] })));
    expect(e.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(e.reason).toBe('too-large');
    expect(e.message).toMatch(new RegExp(`the answer to fetch 1 is 2097\\d{3} bytes, over the ${MiB}-byte gRPC message limit; lower max_bytes \\(asked ${MiB / 2}\\)`));
    expect(small.service.stats.failed['too-large']).toBe(1);

    // The follower's own limit is lower than the leader's: grpc-js refuses the message; the client names it.
    const large = await startLeader();
    large.leader.answer = big;
    const c2 = client(large.address, { limits: { maxMessageBytes: MiB, maxFetchBytes: MiB / 2 } });
    const e2 = await rejection(c2.fetch(body({ maxBytes: MiB / 2, partitions: [{ ...body().partitions[0]!, maxBytes: MiB / 2 }] })));
    expect(e2.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(e2.reason).toBe('too-large');
    expect(e2.message).toContain('lower max_bytes, or raise maxMessageBytes on both brokers');
  });

  it('fails the stream with INTERNAL when the handler throws or answers out of range', async () => {
    const { leader, address } = await startLeader();
    const c = client(address);
    leader.answer = () => {
      throw new Error('log directory /data/t-0 is offline');
    };
    const thrown = await rejection(c.fetch(body()));
    expect(thrown.code).toBe(grpc.status.INTERNAL);
    expect(thrown.message).toContain('the leader failed to answer fetch 1: log directory /data/t-0 is offline');
    leader.answer = (r) => ({ ...empty(r), partitions: [{ topicId: TOPIC_B, partition: 9, errorCode: 0, highWatermark: 0, logStartOffset: 0, logEndOffset: 0, divergingEpoch: null, records: Buffer.alloc(0) }] });
    const stray = await rejection(c.fetch(body(), 5000));
    expect(stray.message).toContain(`partitions[0].partition: ${TOPIC_B}/9 was not requested or is answered twice`);
    leader.answer = (r) => ({ ...empty(r), sequence: r.sequence + 1 });
    expect((await rejection(c.fetch(body(), 5000))).message).toContain('answers no request in flight');
  });

  it('waits for drain when the follower does not read, then delivers every answer in order', async () => {
    const { leader, address, service } = await startLeader();
    const payload = Buffer.alloc(256 * 1024, 1);
    leader.answer = (r) => ({ ...empty(r), partitions: [{ topicId: TOPIC_A, partition: 0, errorCode: 0, highWatermark: 0, logStartOffset: 0, logEndOffset: 0, divergingEpoch: null, records: payload }] });
    const raw = rawStream(address);
    raw.stream.pause();
    // Unread answers fill HTTP/2 flow control (the client's window, FLOW_CONTROL_WINDOW_BYTES), then the server
    // stream's buffer: write() returns false.
    const answersMax = Math.ceil((2 * FLOW_CONTROL_WINDOW_BYTES) / payload.length);
    for (let s = 1; s <= answersMax && service.stats.drainWaits === 0; s++) {
      raw.stream.write({ ...body(), sequence: s });
      await until(`request ${s} handled`, () => (leader.requests.length === s ? true : undefined));
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(service.stats.drainWaits).toBeGreaterThan(0);
    // While the answer waits for drain, the next request stays queued: the handler is not called.
    raw.stream.write({ ...body(), sequence: 1000 });
    const handled = leader.requests.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(leader.requests).toHaveLength(handled);
    raw.stream.resume();
    await until('the queued request', () => (leader.requests.length === handled + 1 ? true : undefined));
    const sent = leader.requests.length;
    await until('every answer', () => (raw.responses.length === sent ? true : undefined));
    expect(raw.responses.map((r) => r.sequence)).toEqual(leader.requests.map((r) => r.sequence));
  });

  it("computes an answer's encoded size exactly as the loader encodes it", () => {
    const method = (replicaServiceClient().service as unknown as Record<string, grpc.MethodDefinition<object, ReplicaFetchResponse>>)['Fetch']!;
    const responses: ReplicaFetchResponse[] = [
      { sequence: 0, errorCode: 0, errorMessage: '', partitions: [] },
      { sequence: MAX, errorCode: -1, errorMessage: 'épuisé ✓', partitions: [] },
      {
        sequence: 300,
        errorCode: 0,
        errorMessage: '',
        partitions: [
          { topicId: TOPIC_A, partition: 2 ** 31 - 1, errorCode: -32768, highWatermark: MAX, logStartOffset: -1, logEndOffset: 128, divergingEpoch: { epoch: -1, endOffset: 0 }, records: Buffer.alloc(0) },
          { topicId: TOPIC_B, partition: 0, errorCode: 32767, highWatermark: 0, logStartOffset: 16383, logEndOffset: 16384, divergingEpoch: null, records: Buffer.alloc(200_000) },
        ],
      },
    ];
    for (const r of responses) {
      const wire = { ...r, partitions: r.partitions.map(({ divergingEpoch, ...p }) => (divergingEpoch ? { ...p, divergingEpoch } : p)) };
      expect(replicaFetchResponseBytes(r)).toBe(method.responseSerialize(wire as ReplicaFetchResponse).length);
    }
  });

  it('closing the service fails open streams with UNAVAILABLE and aborts their handlers', async () => {
    const { leader, address, service } = await startLeader();
    leader.answer = async (r, signal) => {
      await wait(10_000, signal);
      return empty(r);
    };
    const c = client(address);
    const pending = c.fetch(body({ maxWaitMs: 10_000 }));
    await until('the handler', () => (leader.requests.length === 1 ? true : undefined));
    service.close();
    const e = await rejection(pending);
    expect(e.code).toBe(grpc.status.UNAVAILABLE);
    expect(e.reason).toBe('closing');
    expect(leader.aborted).toEqual([1]);
  });
});
