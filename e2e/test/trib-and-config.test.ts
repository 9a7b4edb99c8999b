// The `trib` operator CLI against a node, and the three config sources the README documents:
// server.properties (--config), --override, KAFKA_* environment.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { uniqueTopic, useNode } from '../support/fixtures.ts';
import { kcatConsume, runOk } from '../support/kcat.ts';
import { TributaryNode, tribBin } from '../support/node.ts';
import { WireConnection, metadata } from '../support/wire.ts';

const node = useNode();

async function trib(args: string[], input?: string): Promise<string> {
  const result = await runOk(process.execPath, [tribBin, '-b', node().bootstrap, ...args], { input, timeoutMs: 60_000 });
  return result.stdout.toString('utf8');
}

describe('trib', () => {
  test('topic create, list, describe, produce with key/headers/compression, consume, delete', async () => {
    const topic = uniqueTopic('trib');
    await trib(['topic', 'create', topic, '--partitions', '2']);
    expect(await trib(['topic', 'list'])).toContain(topic);
    expect(await trib(['topic', 'describe', topic])).toContain(topic);
    const lines = Array.from({ length: 1000 }, (_, i) => `k${i}:value ${i}`).join('\n') + '\n';
    await trib(['produce', topic, '--partition', '1', '--key-separator', ':', '--header', 'src=trib', '--compression', 'zstd'], lines);
    const out = await trib(['consume', topic, '--partition', '1', '--from-beginning', '-n', '1000', '--print-key', '--timeout-ms', '10000']);
    expect(out.split('\n').filter((l) => l !== '')).toEqual(Array.from({ length: 1000 }, (_, i) => `k${i}\tvalue ${i}`));
    const viaKcat = await kcatConsume(node().bootstrap, topic, { partition: 1 });
    expect(viaKcat.length).toBe(1000);
    expect(viaKcat[999]!.headers.map(([k, v]) => `${k}=${v?.toString()}`)).toEqual(['src=trib']);
    await trib(['topic', 'delete', topic]);
    expect(await trib(['topic', 'list'])).not.toContain(topic);
  });
});

describe('config sources', () => {
  async function partitionsOfAutoCreated(n: TributaryNode): Promise<number> {
    const conn = await WireConnection.openTo(n.bootstrap);
    try {
      const topic = uniqueTopic('auto');
      // Metadata v1 for an unknown topic auto-creates it when auto.create.topics.enable is on.
      for (let attempt = 0; attempt < 20; attempt++) {
        const meta = await metadata(conn, [topic]);
        const entry = meta.topics.find((t) => t.name === topic);
        if (entry !== undefined && entry.errorCode === 0 && entry.partitions.length > 0) return entry.partitions.length;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error('topic was not auto-created');
    } finally {
      conn.close();
    }
  }

  test('server.properties via --config, then --override wins over it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-config-'));
    const file = join(dir, 'server.properties');
    writeFileSync(file, '# test\nnum.partitions=4\nauto.create.topics.enable=true\n');
    const fromFile = await TributaryNode.start({ configFile: file });
    try {
      expect(await partitionsOfAutoCreated(fromFile)).toBe(4);
    } finally {
      await fromFile.dispose();
    }
    const overridden = await TributaryNode.start({ configFile: file, overrides: { 'num.partitions': '2' } });
    try {
      expect(await partitionsOfAutoCreated(overridden)).toBe(2);
    } finally {
      await overridden.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('KAFKA_* environment (apache/kafka image style), e.g. KAFKA_NUM_PARTITIONS=3', async () => {
    const n = await TributaryNode.start({ env: { KAFKA_NUM_PARTITIONS: '3', KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true' } });
    try {
      expect(await partitionsOfAutoCreated(n)).toBe(3);
    } finally {
      await n.dispose();
    }
  });
});
