import { describe, expect, it } from 'vitest';
import { BoundedQueue, seededRng } from '../src/index.ts';

describe('BoundedQueue', () => {
  it('refuses past its capacity and keeps FIFO order across compaction', () => {
    const q = new BoundedQueue<number>(3000);
    for (let i = 0; i < 3000; i++) expect(q.offer(i)).toBe(true);
    expect(q.offer(3000)).toBe(false);
    for (let i = 0; i < 2000; i++) expect(q.poll()).toBe(i);
    for (let i = 3000; i < 5000; i++) expect(q.offer(i)).toBe(true);
    expect(q.length).toBe(3000);
    expect([...q.drain()]).toEqual(Array.from({ length: 3000 }, (_, i) => i + 2000));
    expect(q.poll()).toBeUndefined();
  });
});

describe('seededRng', () => {
  it('reproduces a sequence from its seed', () => {
    const a = seededRng(42);
    const b = seededRng(42);
    const xs = Array.from({ length: 5 }, () => a.int(1000));
    expect(Array.from({ length: 5 }, () => b.int(1000))).toEqual(xs);
    expect(new Set(xs).size).toBeGreaterThan(1);
  });
});
