/**
 * Replica fetch figures: does decoding copy `records`, what encoding costs next to one plain copy, and loopback
 * throughput of 1 MiB answers through ReplicaService/ReplicaFetchClient.
 *
 *   node packages/rpc/bench/replica-fetch.ts [iterations]
 */
import type { Clock, Rng, Timer } from '@tributary/common';
import type * as grpc from '@grpc/grpc-js';
import {
  ReplicaFetchClient,
  addReplicaService,
  replicaServiceClient,
  startGrpcServer,
  stopGrpcServer,
  type ReplicaFetchRequest,
  type ReplicaFetchResponse,
} from '../src/index.ts';

const MiB = 1024 * 1024;
const iterations = Number(process.argv[2] ?? 200);
const records = Buffer.alloc(MiB, 7);
const answer = (sequence: number): ReplicaFetchResponse => ({
  sequence,
  errorCode: 0,
  errorMessage: '',
  partitions: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partition: 0, errorCode: 0, highWatermark: 1, logStartOffset: 0, logEndOffset: 1, divergingEpoch: null, records }],
});

function perOp(name: string, fn: () => unknown): void {
  for (let i = 0; i < 20; i++) fn();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  console.log(`${name.padEnd(40)} ${(((performance.now() - start) / iterations) * 1000).toFixed(0).padStart(7)} us per 1 MiB answer`);
}

const method = (replicaServiceClient().service as unknown as Record<string, grpc.MethodDefinition<object, ReplicaFetchResponse>>)['Fetch']!;
const { divergingEpoch: _unset, ...wirePartition } = answer(1).partitions[0]!;
const wire = method.responseSerialize({ ...answer(1), partitions: [wirePartition] } as unknown as ReplicaFetchResponse);
const decoded = method.responseDeserialize(wire).partitions[0]!.records;
console.log(`decoded records share the message's memory: ${decoded.buffer === wire.buffer} (offset ${decoded.byteOffset - wire.byteOffset})`);
perOp('decode (loader)', () => method.responseDeserialize(wire));
perOp('encode (loader)', () => method.responseSerialize({ ...answer(1), partitions: [wirePartition] } as unknown as ReplicaFetchResponse));
perOp('reference: allocUnsafe + copy of 1 MiB', () => {
  const b = Buffer.allocUnsafe(MiB + 64);
  records.copy(b, 64);
  return b;
});

const timer: Timer = {
  after(ms, fn) {
    const h = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(h) };
  },
};
const clock: Clock = { nowMs: () => Date.now(), monotonicMs: () => performance.now() };
const rng: Rng = { next: Math.random, int: (b) => Math.floor(Math.random() * b) };
const { server, port } = await startGrpcServer('127.0.0.1:0', (s) => addReplicaService(s, { clusterId: 'bench', handler: { fetch: async (r: ReplicaFetchRequest) => answer(r.sequence) } }), { maxMessageBytes: 64 * MiB });
const client = new ReplicaFetchClient({ address: `127.0.0.1:${port}`, timer, clock, rng });
const request = {
  clusterId: 'bench',
  replicaId: 1,
  brokerEpoch: 1,
  maxWaitMs: 0,
  minBytes: 1,
  maxBytes: 8 * MiB,
  partitions: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partition: 0, currentLeaderEpoch: 1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: 0, flushedOffset: 0, maxBytes: 8 * MiB }],
};
for (let i = 0; i < 10; i++) await client.fetch(request);
const start = performance.now();
for (let i = 0; i < iterations; i++) await client.fetch(request);
const elapsedMs = performance.now() - start;
console.log(`loopback fetches of 1 MiB answers: ${(iterations / (elapsedMs / 1000)).toFixed(0)} per s, ${((iterations * MiB) / MiB / (elapsedMs / 1000)).toFixed(0)} MiB/s (${(elapsedMs / iterations).toFixed(2)} ms each)`);
client.close();
await stopGrpcServer(server);
