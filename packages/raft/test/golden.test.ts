/**
 * Golden traces (etcd's datadriven style). Each file in testdata/ is a script of blocks:
 *
 *   # comments
 *   <command>
 *   ----
 *   <expected trace, no blank lines>
 *   <blank line>
 *
 * Run with UPDATE_GOLDEN=1 to rewrite the expected blocks, then review the diff.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TestCluster } from './harness.ts';

const dir = join(import.meta.dirname, 'testdata');
const update = process.env.UPDATE_GOLDEN === '1';

interface Block {
  comments: string[];
  command: string;
  expected: string[];
}

function parse(source: string): Block[] {
  const lines = source.split('\n');
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const comments: string[] = [];
    while (i < lines.length && (lines[i]!.startsWith('#') || lines[i]!.trim() === '')) {
      if (lines[i]!.startsWith('#')) comments.push(lines[i]!);
      i++;
    }
    if (i >= lines.length) break;
    const command = lines[i++]!.trim();
    if (lines[i] !== '----') throw new Error(`expected ---- after "${command}" (line ${i + 1})`);
    i++;
    const expected: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '') expected.push(lines[i++]!);
    blocks.push({ comments, command, expected });
  }
  return blocks;
}

function render(blocks: Block[]): string {
  return blocks.map((b) => [...b.comments, b.command, '----', ...b.expected].join('\n')).join('\n\n') + '\n';
}

describe('golden traces', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
    it(file, () => {
      const path = join(dir, file);
      const blocks = parse(readFileSync(path, 'utf8'));
      const cluster = new TestCluster();
      const actual = blocks.map((b) => {
        const out = cluster.run(b.command);
        return { ...b, expected: out.length > 0 ? out : ['ok'] };
      });
      if (update) {
        writeFileSync(path, render(actual));
        return;
      }
      for (let i = 0; i < blocks.length; i++) {
        expect(actual[i]!.expected.join('\n'), `${file}: block ${i + 1} "${blocks[i]!.command}"`).toBe(blocks[i]!.expected.join('\n'));
      }
    });
  }
});
