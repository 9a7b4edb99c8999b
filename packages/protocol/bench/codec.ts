// Codec throughput: node bench/codec.ts
import { ApiKey, decodeRequestBody, encodeResponse, readRequestHeader, encodeRequest } from '../src/index.ts';
import { encodeRecordBatch } from '../src/records.ts';

const records = encodeRecordBatch({ records: Array.from({ length: 100 }, (_, i) => ({ value: `value-${i}`.repeat(10), timestamp: 1_700_000_000_000 + i })) });
const produce = Buffer.concat(encodeRequest(ApiKey.Produce, 9, 1, 'bench', {
  transactionalId: null, acks: -1, timeoutMs: 30000,
  topicData: Array.from({ length: 10 }, (_, t) => ({ name: `topic-${t}`, partitionData: Array.from({ length: 10 }, (_, p) => ({ index: p, records })) })),
})).subarray(4);

function time(label: string, iterations: number, fn: () => void): void {
  for (let i = 0; i < 1000; i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  console.log(`${label}: ${(ns / 1000).toFixed(2)} µs/op`);
}

time('decode Produce v9 (10 topics x 10 partitions)', 20000, () => {
  const { bodyOffset } = readRequestHeader(produce);
  decodeRequestBody(ApiKey.Produce, 9, produce, bodyOffset);
});

const fetchResponse = {
  throttleTimeMs: 0, errorCode: 0, sessionId: 0,
  responses: Array.from({ length: 10 }, (_, t) => ({ topic: `topic-${t}`, partitions: Array.from({ length: 10 }, (_, p) => ({ partitionIndex: p, errorCode: 0, highWatermark: 1000, lastStableOffset: 1000, logStartOffset: 0, abortedTransactions: null, preferredReadReplica: -1, records })) })),
};
time('encode Fetch v12 response (100 partitions, records spliced)', 20000, () => {
  encodeResponse(ApiKey.Fetch, 12, 1, fetchResponse);
});
