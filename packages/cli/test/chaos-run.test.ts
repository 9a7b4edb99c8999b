// `trib chaos run --consumers`: the live consumer counts handed to the harness, and bad values refused before anything starts.
import { describe, expect, it } from 'vitest';
import { parseConsumers, parseImage } from '../src/commands/chaos-run.ts';

describe('parseConsumers', () => {
  it('reads assign=N,group=M, either alone, and none', () => {
    expect(parseConsumers('assign=1,group=2')).toEqual({ assign: 1, group: 2 });
    expect(parseConsumers(' group=3 ')).toEqual({ group: 3 });
    expect(parseConsumers('assign=0')).toEqual({ assign: 0 });
    expect(parseConsumers('none')).toEqual({ assign: 0, group: 0 });
  });

  it('refuses unknown kinds, counts over 16, repeats and extra parts', () => {
    for (const bad of ['', 'assign', 'assign=-1', 'subscribe=2', 'group=17', 'assign=1,assign=2', 'assign=1,group=1,group=1']) {
      expect(() => parseConsumers(bad), bad).toThrow(/--consumers/);
    }
  });
});

describe('parseImage (--image: run the cluster as containers)', () => {
  it('takes image references with a tag, a registry port or a digest', () => {
    expect(parseImage('tributary:test')).toBe('tributary:test');
    expect(parseImage(' registry.local:5000/team/tributary@sha256:abc ')).toBe('registry.local:5000/team/tributary@sha256:abc');
  });

  it('refuses empty names and names docker would read as options or shell text', () => {
    for (const bad of ['', ' ', '-v', 'tributary test', 'a;rm', '$(x)']) expect(() => parseImage(bad), bad).toThrow(/--image must be a docker image reference/);
  });
});
