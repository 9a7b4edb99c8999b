// The same interop suite for both python clients: admin create, produce in every codec, read back exactly.
import { describe, expect, test } from 'vitest';
import { uniqueTopic, useNode } from './fixtures.ts';
import { kcatConsume } from './kcat.ts';
import { decodeJsonRecords, runPython, runPythonLast } from './python.ts';
import { binaryRecord, codecs, expectRecords, recordCount } from './records.ts';

interface Produced { delivered: number; error_count: number; errors: string[]; offsets_in_order: boolean; first_offset: number | null; last_offset: number | null }

export function pythonClientSuite(name: string, script: string): void {
  const node = useNode();
  describe(name, () => {
    test('lists its codecs (all five expected with Debian python3-snappy/lz4/zstandard)', async () => {
      const result = await runPythonLast<{ codecs: string[] }>(script, [node().bootstrap, 'codecs']);
      expect(result.codecs).toEqual([...codecs]);
    });

    test('admin client creates a topic that metadata then shows', async () => {
      const topic = uniqueTopic(`${name}-admin`);
      const result = await runPythonLast<{ created: string; partitions: number[] }>(script, [node().bootstrap, 'create', topic, '3']);
      expect(result.partitions).toEqual([0, 1, 2]);
    });

    for (const codec of codecs) {
      test(`codec ${codec}: produces ${recordCount} keyed records with headers and reads them back byte for byte`, async () => {
        const topic = uniqueTopic(`${name}-${codec}`);
        await runPythonLast(script, [node().bootstrap, 'create', topic, '1']);
        const produced = await runPythonLast<Produced>(script, [node().bootstrap, 'produce', topic, codec, String(recordCount), codec]);
        expect(produced, JSON.stringify(produced)).toMatchObject({ delivered: recordCount, error_count: 0, offsets_in_order: true, first_offset: 0, last_offset: recordCount - 1 });
        const expected = Array.from({ length: recordCount }, (_, i) => binaryRecord(i, codec));
        const { lines } = await runPython(script, [node().bootstrap, 'consume', topic, String(recordCount)]);
        expectRecords(decodeJsonRecords(lines), expected, { firstOffset: 0 });
        // Cross-check with an independent reader (librdkafka via kcat); binary headers are not CSV-safe there.
        expectRecords(await kcatConsume(node().bootstrap, topic, { withHeaders: false }), expected, { firstOffset: 0, checkHeaders: false });
      });
    }
  });
}
