// The pure parts of the process runner: the node plan, partition rules, the --faults syntax, and validation
// that rejects bad runs before anything starts.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  NODE_GID_BASE, NemesisConfigError, parseFaults, partitionRules, planNodes, prepareRun, runConfig, runNemesis, unsupportedFaults,
  type FirewallNode, type NemesisRunOptions,
} from '../src/index.ts';

const ports = Array.from({ length: 20 }, (_, i) => 30_000 + i);

describe('planNodes', () => {
  const nodes = planNodes({ controllers: 3, brokers: 2, dir: '/tmp/c', host: '127.0.0.1', overrides: { 'num.partitions': '4' }, clusterId: 'AAAAAAAAAAAAAAAAAAAAAA' }, ports);

  it('names controllers c1.. (ids 1..) and brokers b1.. (ids after them), as the nemesis schedule does', () => {
    expect(nodes.map((n) => [n.name, n.id, n.roles.join(',')])).toEqual([
      ['c1', 1, 'controller'], ['c2', 2, 'controller'], ['c3', 3, 'controller'], ['b1', 4, 'broker'], ['b2', 5, 'broker'],
    ]);
    expect(nodes.map((n) => n.gid)).toEqual([1, 2, 3, 4, 5].map((id) => NODE_GID_BASE + id));
  });

  it('fixes every port, the replication listener included, so partition rules can name it', () => {
    const all = nodes.flatMap((n) => [n.clientPort, n.controllerPort, n.replicationPort].filter((p) => p !== null));
    expect(new Set(all).size).toBe(3 + 2 * 2);
    const b1 = nodes[3]!;
    expect(b1.args).toContain(`replication.listener=127.0.0.1:${b1.replicationPort}`);
    expect(b1.args).toContain(`listeners=PLAINTEXT://127.0.0.1:${b1.clientPort}`);
    expect(b1.args).toContain('controller.quorum.voters=1@127.0.0.1:30000,2@127.0.0.1:30001,3@127.0.0.1:30002');
    expect(nodes[0]!.args).toContain('listeners=CONTROLLER://127.0.0.1:30000');
    expect(nodes[0]!.args).toContain('log.dirs=/tmp/c/c1/data');
    expect(b1.args).toContain('num.partitions=4');
    expect(nodes.every((n) => n.args.includes('cluster.id=AAAAAAAAAAAAAAAAAAAAAA'))).toBe(true);
  });

  it('refuses impossible shapes', () => {
    expect(() => planNodes({ controllers: 0, brokers: 2, dir: '/tmp/c', host: '127.0.0.1', overrides: {} }, ports)).toThrow(/controllers must be an integer in 1..9/);
    expect(() => planNodes({ controllers: 3, brokers: 20, dir: '/tmp/c', host: '127.0.0.1', overrides: {} }, ports)).toThrow(/needs 43 ports/);
  });
});

describe('partitionRules', () => {
  const fw = new Map<string, FirewallNode>([
    ['c1', { name: 'c1', gid: 47001, ports: [100], clientPort: null }],
    ['b1', { name: 'b1', gid: 47002, ports: [200, 201], clientPort: 200 }],
    ['b2', { name: 'b2', gid: 47003, ports: [300, 301], clientPort: 300 }],
  ]);
  const text = (rules: string[][]): string[] => rules.map((r) => r.join(' '));

  it('drops each side\'s packets to the other side\'s listening ports, both ways', () => {
    expect(text(partitionRules('CH', [['c1'], ['b1', 'b2']], fw, 0, false))).toEqual([
      '-A CH -p tcp -o lo -m owner --gid-owner 47001 -m multiport --dports 200,201 -j DROP',
      '-A CH -p tcp -o lo -m owner --gid-owner 47002 -m multiport --dports 100 -j DROP',
      '-A CH -p tcp -o lo -m owner --gid-owner 47001 -m multiport --dports 300,301 -j DROP',
      '-A CH -p tcp -o lo -m owner --gid-owner 47003 -m multiport --dports 100 -j DROP',
    ].map((r) => r.replace('--dports', '--dport')));
  });

  it('one way cuts only A to B; the client side is the harness\' group and the brokers\' client ports', () => {
    expect(text(partitionRules('CH', [['b1'], ['b2']], fw, 0, true))).toEqual(['-A CH -p tcp -o lo -m owner --gid-owner 47002 -m multiport --dport 300,301 -j DROP']);
    expect(text(partitionRules('CH', [['client'], ['c1', 'b2']], fw, 0, false))).toEqual([
      '-A CH -p tcp -o lo -m owner --gid-owner 0 -m multiport --dport 300 -j DROP',
      '-A CH -p tcp -o lo -m owner --gid-owner 47003 -m multiport --sport 300 -j DROP',
    ]);
  });

  it('names the node a partition gets wrong', () => {
    expect(() => partitionRules('CH', [['c1'], ['b9']], fw, 0, false)).toThrow(/node "b9", which the cluster does not have \(it has c1, b1, b2\)/);
  });
});

describe('parseFaults', () => {
  it('reads names, targets and partition modes', () => {
    expect(parseFaults('kill, pause:majority,stop:b1+b2,partition,partition:client,partition:c1+b1/c2+b2,partition:b3')).toEqual([
      { fault: 'kill' },
      { fault: 'pause', targets: 'majority' },
      { fault: 'stop', targets: ['b1', 'b2'] },
      { fault: 'partition' },
      { fault: 'partition', mode: 'client' },
      { fault: 'partition', mode: 'explicit', sides: [['c1', 'b1'], ['c2', 'b2']] },
      { fault: 'partition', mode: 'isolate', targets: ['b3'] },
    ]);
  });

  it('flags faults a process cluster cannot inject, and leaves unknown names to validation', () => {
    expect(unsupportedFaults(parseFaults('kill,latency,bogus'))).toEqual([
      'faults[1]: "latency" is not supported on a cluster of local processes (supported: kill, stop, pause, partition)',
    ]);
  });
});

describe('run validation (before anything starts)', () => {
  const good: NemesisRunOptions = { seed: 1, durationMs: 60_000, controllers: 3, brokers: 3, faults: parseFaults('kill,pause,partition'), outDir: '/nonexistent' };

  it('accepts a sound run', () => {
    expect(runConfig(good).problems).toEqual([]);
  });

  it('reports every problem at once: unknown fault, missing node, impossible cluster, short duration', () => {
    const { problems } = runConfig({ ...good, controllers: 0, faults: parseFaults('kil,partition:c1/b7'), durationMs: 1000, partitions: 0 });
    expect(problems.some((p) => p.includes('unknown fault "kil" (did you mean "kill"?)'))).toBe(true);
    expect(problems.some((p) => p.includes('cluster.controllers must be an integer >= 1'))).toBe(true);
    expect(problems.some((p) => p.includes('partitions must be an integer in 1..1000, got 0'))).toBe(true);
    const named = runConfig({ ...good, faults: parseFaults('partition:c1/b7') }).problems;
    expect(named.some((p) => p.includes('node "b7" does not exist; the cluster has c1, c2, c3, b1, b2, b3'))).toBe(true);
    expect(runConfig({ ...good, durationMs: 1000 }).problems).toEqual(['durationMs 1000 is too short for one fault window (quiet 5000 + fault 5000 + quiet 5000)']);
    expect(runConfig({ ...good, brokers: 1, replicationFactor: 3 }).problems.some((p) => p.includes('replicationFactor 3 needs at least 3 brokers'))).toBe(true);
  });

  it('throws a NemesisConfigError from prepareRun and runNemesis without creating anything', async () => {
    const outDir = join(mkdtempSync(join(tmpdir(), 'trib-harness-')), 'out');
    expect(() => prepareRun({ ...good, faults: parseFaults('kill,disk-full') })).toThrow(NemesisConfigError);
    await expect(runNemesis({ ...good, outDir, faults: parseFaults('partition:c1/c9') })).rejects.toThrow(/node "c9" does not exist/);
    expect(existsSync(outDir)).toBe(false);
  });
});
