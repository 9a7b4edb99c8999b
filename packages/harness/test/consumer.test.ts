// The consumer workload's lines to history ops: records to polls, assignments to sessions (assign mode: `assign`;
// group mode: `subscribe` then `assign` with the resume offsets), errors counted, and a process that ends without its
// final line to a crash. A stand-in interpreter prints recorded lines, so no broker or librdkafka is needed.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkHistory, ConsumerLineParser, ConsumerProcess, groupRewinds, type HistoryOp } from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'trib-harness-consumer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakePython(lines: readonly string[], exitCode = 0): string {
  const path = join(dir, `python-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, `#!/bin/sh\ncat <<'EOF'\n${lines.join('\n')}\nEOF\nexit ${exitCode}\n`);
  chmodSync(path, 0o755);
  return path;
}

const strip = (ops: readonly HistoryOp[]): unknown[] => ops.map(({ timeMs: _t, ...op }) => op);

describe('ConsumerLineParser', () => {
  it('assign mode: an assign op with the start offsets (null start: none), then a poll per record', () => {
    const p = new ConsumerLineParser({ name: 'ca0', topic: 't', mode: 'assign' });
    p.line('{"assign":[[0,0],[1,null]]}', 1);
    p.line('{"p":0,"o":0,"v":"p0-0"}', 2);
    p.line('{"p":1,"o":3,"v":"p1-7"}', 3);
    p.line('', 4);
    p.line('{"done":true,"read":2}', 5);
    expect(strip(p.ops)).toEqual([
      { type: 'assign', process: 'ca0', partitions: [{ topic: 't', partition: 0, offset: 0 }, { topic: 't', partition: 1 }] },
      { type: 'poll', process: 'ca0', topic: 't', partition: 0, offset: 0, value: 'p0-0' },
      { type: 'poll', process: 'ca0', topic: 't', partition: 1, offset: 3, value: 'p1-7' },
    ]);
    expect(p.ops.map((op) => op.timeMs)).toEqual([1, 2, 3]);
    expect(p.read).toBe(2);
    expect(p.polls).toBe(2);
    p.exited(6);
    expect(p.ops.length).toBe(3);
  });

  it('group mode: every on_assign is a subscribe (new session) plus the committed offsets; revokes and errors are counted', () => {
    const p = new ConsumerLineParser({ name: 'cg0', topic: 't', mode: 'group' });
    p.line('{"assign":[[0,null],[1,null]]}', 1);
    p.line('{"p":0,"o":0,"v":"a"}', 2);
    p.line('{"revoke":[0,1]}', 3);
    p.line('{"err":"librdkafka: broker down"}', 4);
    p.line('{"assign":[[1,5]]}', 5);
    p.line('{"p":1,"o":5,"v":"b"}', 6);
    expect(strip(p.ops)).toEqual([
      { type: 'subscribe', process: 'cg0', topics: ['t'] },
      { type: 'assign', process: 'cg0', partitions: [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }] },
      { type: 'poll', process: 'cg0', topic: 't', partition: 0, offset: 0, value: 'a' },
      { type: 'subscribe', process: 'cg0', topics: ['t'] },
      { type: 'assign', process: 'cg0', partitions: [{ topic: 't', partition: 1, offset: 5 }] },
      { type: 'poll', process: 'cg0', topic: 't', partition: 1, offset: 5, value: 'b' },
    ]);
    expect([p.assignments, p.revocations, p.errorCount, p.errors]).toEqual([2, 1, 1, ['librdkafka: broker down']]);
  });

  it('counts malformed lines (not JSON, a record without an offset, a bad assignment) and records nothing for them', () => {
    const p = new ConsumerLineParser({ name: 'c', topic: 't', mode: 'assign' });
    for (const line of ['not json', 'null', '{"p":0,"v":"x"}', '{"p":0,"o":1.5,"v":"x"}', '{"assign":[["a",1]]}']) p.line(line, 1);
    expect(p.malformed).toBe(5);
    expect(p.ops).toEqual([]);
  });

  it('a process gone without its final line ends its session with a crash op', () => {
    const p = new ConsumerLineParser({ name: 'c', topic: 't', mode: 'group' });
    p.line('{"p":0,"o":0,"v":"a"}', 1);
    p.exited(9);
    expect(p.ops.at(-1)).toEqual({ type: 'crash', process: 'c', timeMs: 9 });
  });

  it('the checker sees a re-read after a rebalance as a new session, a jump past the resume offset as a skip', () => {
    const sends: HistoryOp[] = [];
    for (let o = 0; o < 6; o++) sends.push({ type: 'send', process: 'p', topic: 't', partition: 0, value: `v${o}`, offset: o, outcome: 'ok', timeMs: 0 });
    const g = new ConsumerLineParser({ name: 'g', topic: 't', mode: 'group' });
    g.line('{"assign":[[0,null]]}', 1);
    for (let o = 0; o < 4; o++) g.line(JSON.stringify({ p: 0, o, v: `v${o}` }), 2);
    // Rebalanced back to the committed offset 2: re-reads 2..5, not backwards.
    g.line('{"assign":[[0,2]]}', 3);
    for (let o = 2; o < 6; o++) g.line(JSON.stringify({ p: 0, o, v: `v${o}` }), 4);
    const ok = checkHistory([...sends, ...g.ops], { drained: true });
    expect([ok.counts.nonmonotonicPolls, ok.counts.skips, ok.counts.lostWrites]).toEqual([0, 0, 0]);

    const s = new ConsumerLineParser({ name: 's', topic: 't', mode: 'group' });
    s.line('{"assign":[[0,2]]}', 1);
    s.line(JSON.stringify({ p: 0, o: 4, v: 'v4' }), 2);
    s.line(JSON.stringify({ p: 0, o: 3, v: 'v3' }), 3);
    const bad = checkHistory([...sends, ...s.ops]);
    expect(bad.skips.map((x) => x.missing)).toEqual([[2, 3]]);
    expect(bad.counts.nonmonotonicPolls).toBe(1);
  });
});

describe('groupRewinds', () => {
  it('counts members that resumed with no committed offset or below what the group read, not a resume right after it', () => {
    const g0 = new ConsumerLineParser({ name: 'g0', topic: 't', mode: 'group' });
    const g1 = new ConsumerLineParser({ name: 'g1', topic: 't', mode: 'group' });
    g0.line('{"assign":[[0,null],[1,null]]}', 1);
    for (let o = 0; o < 10; o++) g0.line(JSON.stringify({ p: 0, o, v: `a${o}` }), 2);
    for (let o = 0; o < 4; o++) g0.line(JSON.stringify({ p: 1, o, v: `b${o}` }), 2);
    // g1 joins: takes partition 1 from the committed offset 4 (fine); g0 keeps 0.
    g1.line('{"assign":[[1,4]]}', 3);
    g0.line('{"assign":[[0,10]]}', 3);
    // The commits are gone: both start over.
    g1.line('{"assign":[[1,null]]}', 5);
    g0.line('{"assign":[[0,7]]}', 5);
    const ops = [...g0.ops, ...g1.ops].sort((a, b) => a.timeMs - b.timeMs);
    const r = groupRewinds(ops);
    expect(r.count).toBe(2);
    expect(r.rereadBound).toBe(4 + 3);
    // Both went below a committed offset an earlier assignment had resumed at (1: 4 -> none, 0: 10 -> 7): lost commits.
    expect(r.lostCommits).toBe(2);
    expect(r.examples.map(({ timeMs: _t, ...x }) => x)).toEqual([
      { process: 'g0', partition: 0, resumedAt: 7, readUpTo: 9 },
      { process: 'g1', partition: 1, resumedAt: null, readUpTo: 3 },
    ]);
  });
});

describe('groupRewinds lostCommits', () => {
  it('does not count re-reading a batch whose commit was refused in a rebalance (at-least-once)', () => {
    const g0 = new ConsumerLineParser({ name: 'g0', topic: 't', mode: 'group' });
    const g1 = new ConsumerLineParser({ name: 'g1', topic: 't', mode: 'group' });
    g0.line('{"assign":[[0,null]]}', 1);
    for (let o = 0; o < 10; o++) g0.line(JSON.stringify({ p: 0, o, v: `a${o}` }), 2);
    // The group committed 6 (seen by the next assignment), then read 6..9 whose commit the rebalance refused.
    g1.line('{"assign":[[0,6]]}', 3);
    for (let o = 6; o < 12; o++) g1.line(JSON.stringify({ p: 0, o, v: `a${o}` }), 4);
    g0.line('{"assign":[[0,8]]}', 5);
    const r = groupRewinds([...g0.ops, ...g1.ops].sort((a, b) => a.timeMs - b.timeMs));
    expect(r.count).toBe(2);
    expect(r.lostCommits).toBe(0);
  });
});

describe('ConsumerProcess', () => {
  it('runs the consumer and parses its lines; a clean end records no crash', async () => {
    const python = fakePython(['{"assign":[[0,0]]}', '{"p":0,"o":0,"v":"p0-0"}', '{"done":true,"read":1}']);
    const c = new ConsumerProcess({ python, bootstrap: 'unused:1', topic: 't', name: 'ca0', mode: 'assign', stopFile: join(dir, 'stop') });
    expect(await c.exited).toBe(0);
    expect(c.ops.map((op) => op.type)).toEqual(['assign', 'poll']);
    expect(c.parser.read).toBe(1);
  });

  it('a consumer that dies before its final line gets a crash op', async () => {
    const python = fakePython(['{"assign":[[0,null]]}', '{"p":0,"o":0,"v":"x"}'], 1);
    const c = new ConsumerProcess({ python, bootstrap: 'unused:1', topic: 't', name: 'cg0', mode: 'group', group: 'g', stopFile: join(dir, 'stop') });
    expect(await c.exited).toBe(1);
    expect(c.ops.map((op) => op.type)).toEqual(['subscribe', 'assign', 'poll', 'crash']);
  });

  it('refuses group mode without a group id', () => {
    expect(() => new ConsumerProcess({ bootstrap: 'x:1', topic: 't', name: 'c', mode: 'group', stopFile: join(dir, 'stop') })).toThrow(/group id/);
  });
});
