// ProducerProcess turns the producer's delivery lines into send ops. A stand-in interpreter prints recorded lines,
// so no broker or librdkafka is needed.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProducerProcess } from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'trib-harness-producer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An executable that ignores its arguments (the script path, bootstrap, ...) and prints `lines`. */
function fakePython(lines: readonly string[]): string {
  const path = join(dir, `python-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, `#!/bin/sh\ncat <<'EOF'\n${lines.join('\n')}\nEOF\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('ProducerProcess', () => {
  it('records acks with their offset, acks without one (a duplicate-sequence retry) with none, and errors as unknown', async () => {
    const python = fakePython([
      '{"v": "p0-0", "p": 2, "o": 7}',
      '{"v": "p0-1", "p": 4, "o": null}',
      '{"v": "p0-2", "err": "Local: Message timed out"}',
      'not json',
      '{"done": true, "sent": 4, "unflushed": 0}',
    ]);
    const p = new ProducerProcess({ python, bootstrap: 'unused:1', topic: 't', name: 'p0', stopFile: join(dir, 'stop'), ratePerS: 1 });
    expect(await p.exited).toBe(0);
    expect(p.ops.map(({ timeMs: _t, ...op }) => op)).toEqual([
      { type: 'send', process: 'p0', topic: 't', partition: 2, key: 'p0-0', value: 'p0-0', offset: 7, outcome: 'ok' },
      { type: 'send', process: 'p0', topic: 't', partition: 4, key: 'p0-1', value: 'p0-1', outcome: 'ok' },
      { type: 'send', process: 'p0', topic: 't', partition: 0, key: 'p0-2', value: 'p0-2', outcome: 'info' },
    ]);
    expect(p.malformedLines).toBe(1);
    expect(p.sent).toBe(4);
    expect(p.unreported()).toEqual(['p0-3']);
  });
});
