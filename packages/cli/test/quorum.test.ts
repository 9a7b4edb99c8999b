// `trib quorum status`: formatting of a recorded DescribeQuorum answer, the command end to end against a
// loopback broker that speaks the real wire codec, and its bad arguments.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaError, quorumInfoFromResponse, type DescribeQuorumBody } from '@tributary/client';
import { ApiKey, decodeResponse, encodeResponse, errorName, readRequestHeader } from '@tributary/protocol';
import { formatQuorumStatus, quorumStatusReport } from '../src/commands/quorum-status.ts';
import { trib } from './helpers.ts';

const NOW_MS = 1_700_000_000_000;

// A DescribeQuorum v1 response frame (size prefix removed), correlation id 7: leader 1 in epoch 3 with
// high watermark 1234; voters 1 (log end 1236), 2 (1234, fetched 120 ms before NOW_MS) and 3 (1200,
// 2500 ms before, never caught up); observers 5 (1234, 40 ms) and 4 (unknown).
const RECORDED_V1 = Buffer.from(
  `0000000700000002135f5f636c75737465725f6d657461646174610200000000
   0000000000010000000300000000000004d2040000000100000000000004d400
   00018bcfe568000000018bcfe56800000000000200000000000004d20000018b
   cfe567880000018bcfe56788000000000300000000000004b00000018bcfe55e
   3cffffffffffffffff00030000000500000000000004d20000018bcfe567d800
   00018bcfe567d80000000004ffffffffffffffffffffffffffffffffffffffff
   ffffffff00000000`.replace(/\s+/g, ''),
  'hex',
);

function check(code: number, context: string, message?: string | null): void {
  if (code !== 0) throw new KafkaError(code, errorName(code), `${errorName(code)}${message ? `: ${message}` : ''} (${context})`);
}

function recorded() {
  const { correlationId, body } = decodeResponse(ApiKey.DescribeQuorum, 1, RECORDED_V1);
  expect(correlationId).toBe(7);
  return quorumInfoFromResponse(body as DescribeQuorumBody, 1, check);
}

describe('quorum status formatting', () => {
  it('reports leader, epoch, high watermark, the largest follower lag and one row per replica', () => {
    const report = quorumStatusReport(recorded(), NOW_MS);
    expect(report).toEqual({
      leaderId: 1,
      leaderEpoch: 3,
      highWatermark: 1234,
      maxFollowerLag: 34,
      voters: [
        { id: 1, status: 'Leader', logEndOffset: 1236, lag: 0, lastFetchMsAgo: 0, lastCaughtUpMsAgo: 0 },
        { id: 2, status: 'Follower', logEndOffset: 1234, lag: 0, lastFetchMsAgo: 120, lastCaughtUpMsAgo: 120 },
        { id: 3, status: 'Follower', logEndOffset: 1200, lag: 34, lastFetchMsAgo: 2500, lastCaughtUpMsAgo: null },
      ],
      observers: [
        { id: 4, status: 'Observer', logEndOffset: null, lag: null, lastFetchMsAgo: null, lastCaughtUpMsAgo: null },
        { id: 5, status: 'Observer', logEndOffset: 1234, lag: 0, lastFetchMsAgo: 40, lastCaughtUpMsAgo: 40 },
      ],
    });
    expect(formatQuorumStatus(report)).toBe(
      [
        'Leader: 1  Epoch: 3  High watermark: 1234  Max follower lag: 34',
        'Voters: 1,2,3  Observers: 4,5',
        '',
        'NODE  STATUS    LOG-END-OFFSET  LAG  LAST-FETCH-MS-AGO  LAST-CAUGHT-UP-MS-AGO',
        '1     Leader    1236            0    0                  0',
        '2     Follower  1234            0    120                120',
        '3     Follower  1200            34   2500               -',
        '4     Observer  -               -    -                  -',
        '5     Observer  1234            0    40                 40',
      ].join('\n'),
    );
  });

  it('prints dashes for the times a v0 answer does not carry, and "none" without a leader', () => {
    const q = { ...recorded(), leaderId: -1, version: 0 };
    const v0 = { ...q, voters: q.voters.map((v) => ({ ...v, lastFetchTimestamp: -1, lastCaughtUpTimestamp: -1 })), observers: [] };
    const report = quorumStatusReport(v0, NOW_MS);
    expect(report.voters.every((v) => v.status === 'Follower' && v.lastFetchMsAgo === null)).toBe(true);
    const text = formatQuorumStatus(report);
    expect(text.split('\n')[0]).toBe('Leader: none  Epoch: 3  High watermark: 1234  Max follower lag: 34');
    expect(text.split('\n')[1]).toBe('Voters: 1,2,3  Observers: -');
  });

  it('a single voter has no follower lag; an unknown follower log end makes the lag unknown', () => {
    const q = recorded();
    expect(quorumStatusReport({ ...q, voters: [q.voters[0]!] }, NOW_MS).maxFollowerLag).toBe(0);
    const unknown = { ...q, voters: [...q.voters, { replicaId: 9, logEndOffset: -1, lastFetchTimestamp: -1, lastCaughtUpTimestamp: -1 }] };
    expect(quorumStatusReport(unknown, NOW_MS).maxFollowerLag).toBeNull();
  });
});

/** A loopback broker that answers ApiVersions (advertising `apis`) and DescribeQuorum with the recorded answer. */
async function fakeBroker(apis: { apiKey: number; minVersion: number; maxVersion: number }[]): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const frame = buffered.subarray(4, 4 + buffered.readInt32BE(0));
        buffered = buffered.subarray(4 + frame.length);
        const { header } = readRequestHeader(frame);
        if (header.apiKey === ApiKey.ApiVersions) {
          socket.write(Buffer.concat(encodeResponse(ApiKey.ApiVersions, 0, header.correlationId, { errorCode: 0, apiKeys: apis })));
        } else if (header.apiKey === ApiKey.DescribeQuorum) {
          const out = Buffer.alloc(4 + RECORDED_V1.length);
          out.writeInt32BE(RECORDED_V1.length, 0);
          RECORDED_V1.copy(out, 4);
          out.writeInt32BE(header.correlationId, 4);
          socket.write(out);
        } else {
          socket.destroy();
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('trib quorum status', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((c) => c()));
  });
  const base = [{ apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 0 }, { apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 12 }];

  it('prints the table, or one JSON document with --output json or --json', async () => {
    const broker = await fakeBroker([...base, { apiKey: ApiKey.DescribeQuorum, minVersion: 0, maxVersion: 1 }]);
    closers.push(broker.close);
    const b = `127.0.0.1:${broker.port}`;
    const text = await trib(['quorum', 'status', '-b', b]);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Leader: 1 {2}Epoch: 3 {2}High watermark: 1234 {2}Max follower lag: 34\n/);
    expect(text.stdout).toMatch(/\n3 +Follower +1200 +34 +\d+/);
    for (const args of [['--output', 'json'], ['--json']]) {
      const r = await trib(['quorum', 'status', '-b', b, ...args]);
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.stdout) as { leaderId: number; maxFollowerLag: number; voters: unknown[]; observers: unknown[] };
      expect([doc.leaderId, doc.maxFollowerLag, doc.voters.length, doc.observers.length]).toEqual([1, 34, 3, 2]);
    }
  });

  it('says clearly when the broker does not support DescribeQuorum', async () => {
    const broker = await fakeBroker(base);
    closers.push(broker.close);
    const r = await trib(['quorum', 'status', '-b', `127.0.0.1:${broker.port}`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^trib: broker 127\\.0\\.0\\.1:${broker.port} does not support DescribeQuorum \\(API key 55 is not in its ApiVersions\\), so it cannot report the controller quorum`));
  });

  it('rejects bad arguments with exit code 2', async () => {
    const noSub = await trib(['quorum']);
    expect(noSub.code).toBe(2);
    expect(noSub.stderr).toMatch(/^trib: quorum needs a subcommand: status/);
    const badOutput = await trib(['quorum', 'status', '--output', 'xml']);
    expect(badOutput.code).toBe(2);
    expect(badOutput.stderr).toMatch(/^trib: --output must be text or json, got "xml"/);
    const unknown = await trib(['quorum', 'status', '--replication-factor', '3']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^trib: Unknown argument/i);
    const typo = await trib(['quorum', 'stats']);
    expect(typo.code).toBe(2);
  });
});
