// `pnpm bench`: throughput of one Tributary node against the machine's own limit, in one run.
//   (a) sink:    1 KiB-record Produce frames over loopback into a Node TCP sink that appends them to a file
//   (a') kcat sink: the same kcat command as (b) into a Node sink that speaks just enough Kafka (ApiVersions,
//        Metadata, Produce acks without checks) to make kcat send, and appends every Produce frame to a file:
//        the ceiling for this client on this machine (on 2 cores kcat's own CPU is a large share of it)
//   (b) produce: kcat (librdkafka) -> Tributary, 1 KiB records, batched, acks=1
//   (c) consume: kcat reads the same records back (page cache)
// Env: BENCH_RECORDS (default 500000), BENCH_RECORD_BYTES (1024), BENCH_KEEP=1 keeps the data dir.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, openSync, closeSync, rmSync, statSync, writeSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TributaryNode } from '../../e2e/support/node.ts';
import { ApiKey, decodeRequestBody, encodeResponse, readRequestHeader } from '../../packages/protocol/src/index.ts';
import { WireConnection, Writer, createTopic, encodeBatch, type WireRecord } from '../../e2e/support/wire.ts';

const recordCount = Number(process.env.BENCH_RECORDS ?? 500_000);
const repeats = 3; // sink and consume are short: report the median of three runs
const recordBytes = Number(process.env.BENCH_RECORD_BYTES ?? 1024);
const recordsPerBatch = 1000;
const work = mkdtempSync(join(tmpdir(), 'trib-bench-'));

interface Result { name: string; seconds: number; bytes: number; records: number }
const mb = (r: Result) => r.bytes / r.seconds / 1e6;
const rps = (r: Result) => r.records / r.seconds;
const fmt = (r: Result) => `${r.name.padEnd(30)} ${mb(r).toFixed(1).padStart(8)} MB/s ${Math.round(rps(r)).toLocaleString('en-US').padStart(12)} records/s  (${r.records} records, ${(r.bytes / 1e6).toFixed(0)} MB, ${r.seconds.toFixed(2)} s)`;

function payload(i: number): Buffer {
  const b = Buffer.alloc(recordBytes - 1, 97 + (i % 26));
  b.write(String(i));
  return b;
}

/** (a) The machine's limit: the same kind of bytes a producer sends, over loopback, appended to a file. */
async function sink(): Promise<Result> {
  const file = join(work, 'sink.bin');
  let received = 0;
  let finished!: () => void;
  const done = new Promise<void>((r) => { finished = r; });
  const server = createServer((socket: Socket) => {
    const out = createWriteStream(file, { flags: 'a' });
    socket.on('data', (c: Buffer) => { received += c.length; });
    socket.pipe(out);
    out.on('finish', () => finished());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const frames: Buffer[] = [];
  for (let start = 0; start < recordCount; start += recordsPerBatch) {
    const records: WireRecord[] = [];
    for (let i = start; i < Math.min(start + recordsPerBatch, recordCount); i++) records.push({ key: null, value: payload(i), headers: [] });
    const batch = encodeBatch(records);
    const body = new Writer().nullableString(null).int16(1).int32(30_000)
      .array(['bench'], (w, t) => w.string(t).array([0], (pw, p) => pw.int32(p).bytes(batch))).build();
    const header = new Writer().int16(0).int16(3).int32(start).nullableString('bench').build();
    frames.push(new Writer().int32(header.length + body.length).raw(header).raw(body).build());
  }
  const bytes = frames.reduce((n, f) => n + f.length, 0);
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const t0 = performance.now();
  for (const f of frames) if (!socket.write(f)) await new Promise<void>((r) => socket.once('drain', () => r()));
  socket.end();
  await done;
  const seconds = (performance.now() - t0) / 1000;
  server.close();
  if (received !== bytes || statSync(file).size !== bytes) throw new Error(`sink got ${received} bytes, file ${statSync(file).size}, sent ${bytes}`);
  rmSync(file);
  return { name: '(a) loopback sink -> file', seconds, bytes, records: recordCount };
}

/** (a') A protocol-speaking sink: answers kcat minimally and appends each Produce frame to a file. */
async function startKcatSink(file: string): Promise<{ port: number; close(): void }> {
  const out = createWriteStream(file);
  let baseOffset = 0;
  const apis = [[ApiKey.Produce, 3, 7], [ApiKey.Metadata, 1, 4], [ApiKey.ApiVersions, 0, 2]];
  const server = createServer((socket: Socket) => {
    socket.setNoDelay(true);
    let chunks: Buffer[] = [];
    let buffered = 0;
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      buffered += chunk.length;
      while (buffered >= 4) {
        const head = chunks[0]!.length >= 4 ? chunks[0]! : Buffer.concat(chunks);
        const size = head.readInt32BE(0);
        if (buffered < 4 + size) break;
        // One copy per frame at most (as the broker does): join the chunks once the frame is complete.
        const all: Buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
        const frame = all.subarray(4, 4 + size);
        const rest = all.subarray(4 + size);
        chunks = rest.length > 0 ? [rest] : [];
        buffered = rest.length;
        const { header, bodyOffset } = readRequestHeader(frame);
        let body: object;
        if (header.apiKey === ApiKey.ApiVersions) {
          body = { errorCode: 0, apiKeys: apis.map(([apiKey, minVersion, maxVersion]) => ({ apiKey, minVersion, maxVersion })), throttleTimeMs: 0 };
        } else if (header.apiKey === ApiKey.Metadata) {
          const req = decodeRequestBody(header.apiKey, header.apiVersion, frame, bodyOffset);
          const port = (server.address() as { port: number }).port;
          body = {
            brokers: [{ nodeId: 1, host: '127.0.0.1', port, rack: null }], clusterId: 'sink', controllerId: 1,
            topics: (req.topics ?? []).map((t: { name: string }) => ({ errorCode: 0, name: t.name, isInternal: false, partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] }] })),
          };
        } else if (header.apiKey === ApiKey.Produce) {
          out.write(frame);
          const req = decodeRequestBody(header.apiKey, header.apiVersion, frame, bodyOffset);
          body = { responses: req.topicData.map((t: any) => ({ name: t.name, partitionResponses: t.partitionData.map((p: any) => ({ index: p.index, errorCode: 0, baseOffset: baseOffset++, logAppendTimeMs: -1, logStartOffset: 0 })) })), throttleTimeMs: 0 };
        } else {
          socket.destroy();
          return;
        }
        for (const c of encodeResponse(header.apiKey, header.apiVersion, header.correlationId, body)) socket.write(c);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, close: () => { server.close(); out.end(); } };
}

async function timed(command: string, args: string[], stdinFile: string | null): Promise<{ seconds: number; stdoutBytes: number; lines: number; stderr: string }> {
  const fd = stdinFile === null ? 'ignore' : openSync(stdinFile, 'r');
  const t0 = performance.now();
  const child = spawn(command, args, { stdio: [fd, 'pipe', 'pipe'] });
  let stdoutBytes = 0; let lines = 0; let stderr = '';
  child.stdout?.on('data', (c: Buffer) => { stdoutBytes += c.length; for (const b of c) if (b === 10) lines++; });
  child.stderr?.on('data', (c: Buffer) => { if (stderr.length < 20_000) stderr += c.toString(); });
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const seconds = (performance.now() - t0) / 1000;
  if (typeof fd === 'number') closeSync(fd);
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}\n${stderr}`);
  return { seconds, stdoutBytes, lines, stderr };
}

async function main(): Promise<void> {
  console.log(`tributary bench: ${recordCount} records of ${recordBytes} B (${(recordCount * recordBytes / 1e6).toFixed(0)} MB), work dir ${work}`);
  const median = (results: Result[]) => [...results].sort((x, y) => mb(x) - mb(y))[Math.floor(results.length / 2)]!;
  const sinks: Result[] = [];
  for (let i = 0; i < repeats; i++) sinks.push(await sink());
  const a = median(sinks);
  console.log(fmt(a), `median of ${repeats}`);

  const input = join(work, 'records.txt');
  const fd = openSync(input, 'w');
  for (let i = 0; i < recordCount; i++) writeSync(fd, Buffer.concat([payload(i), Buffer.from('\n')]));
  closeSync(fd);

  const node = await TributaryNode.start({ dataDir: join(work, 'data') });
  try {
    const topic = 'bench';
    const conn = await WireConnection.openTo(node.bootstrap);
    const created = await createTopic(conn, topic, 1);
    conn.close();
    if (created.errorCode !== 0) throw new Error(`CreateTopics: ${created.errorCode} ${created.errorMessage}`);

    const kcatProduce = (bootstrap: string): string[] => ['-P', '-b', bootstrap, '-t', topic, '-p', '0', '-X', 'acks=1', '-X', 'linger.ms=5',
      '-X', 'batch.num.messages=10000', '-X', 'batch.size=1048576', '-X', 'queue.buffering.max.messages=1000000', '-X', 'queue.buffering.max.kbytes=1048576'];
    const kcatSinks: Result[] = [];
    for (let i = 0; i < repeats; i++) {
      const sinkFile = join(work, 'kcat-sink.bin');
      const kcatSink = await startKcatSink(sinkFile);
      const run = await timed('kcat', kcatProduce(`127.0.0.1:${kcatSink.port}`), input);
      kcatSink.close();
      rmSync(sinkFile, { force: true });
      kcatSinks.push({ name: "(a') kcat -> protocol sink -> file", seconds: run.seconds, bytes: recordCount * recordBytes, records: recordCount });
    }
    const a2 = median(kcatSinks);
    console.log(fmt(a2), `median of ${repeats}`);
    const produced = await timed('kcat', kcatProduce(node.bootstrap), input);
    if (/fail|error/i.test(produced.stderr)) console.log(`kcat -P stderr:\n${produced.stderr}`);
    const b: Result = { name: '(b) produce kcat acks=1', seconds: produced.seconds, bytes: recordCount * recordBytes, records: recordCount };
    console.log(fmt(b));

    const consumes: Result[] = [];
    for (let i = 0; i < repeats; i++) {
      const consumed = await timed('kcat', ['-C', '-b', node.bootstrap, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o\\n',
        '-X', 'fetch.max.bytes=52428800', '-X', 'max.partition.fetch.bytes=10485760', '-X', 'fetch.wait.max.ms=100'], null);
      if (consumed.lines !== recordCount) console.log(`WARNING: consumed ${consumed.lines} of ${recordCount} records`);
      consumes.push({ name: '(c) consume kcat (page cache)', seconds: consumed.seconds, bytes: consumed.lines * recordBytes, records: consumed.lines });
    }
    const c = median(consumes);
    console.log(fmt(c), `median of ${repeats}`);

    console.log(`ratios: produce / kcat sink limit (a') = ${(mb(b) / mb(a2)).toFixed(2)}, produce / raw sink (a) = ${(mb(b) / mb(a)).toFixed(2)}, consume / produce = ${(mb(c) / mb(b)).toFixed(2)}`);
  } finally {
    await node.stop();
    if (process.env.BENCH_KEEP === undefined) rmSync(work, { recursive: true, force: true });
  }
}

try {
  await main();
} finally {
  if (process.env.BENCH_KEEP === undefined) rmSync(work, { recursive: true, force: true });
}
