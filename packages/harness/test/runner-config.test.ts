// The pure parts of the process runner: the node plan, partition rules, the --faults syntax, and validation
// that rejects bad runs before anything starts.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DISK_BYTES_DEFAULT, NODE_GID_BASE, NemesisConfigError, NodeDisks, delayerCommand, diskMountArgs, diskSizeProblems, nemesisSchedule, netemParams, netemProblems, netemRules,
  parseFaults, parseMounts, partitionRules, planNodes, prepareRun, runConfig, runNemesis, unsupportedFaults,
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

  it('reads netem parameters before the targets, with defaults, and leaves bad numbers to validation', () => {
    expect(parseFaults('latency,latency=200~50:b1,latency=300:majority,loss,loss=12.5:b1+b2,reorder,reorder=30@80:brokers,disk-full:b2,disk-readonly')).toEqual([
      { fault: 'latency', delayMs: 100, jitterMs: 20 },
      { fault: 'latency', delayMs: 200, jitterMs: 50, targets: ['b1'] },
      { fault: 'latency', delayMs: 300, jitterMs: 0, targets: 'majority' },
      { fault: 'loss', percent: 10 },
      { fault: 'loss', percent: 12.5, targets: ['b1', 'b2'] },
      { fault: 'reorder', percent: 25, delayMs: 50 },
      { fault: 'reorder', percent: 30, delayMs: 80, targets: 'brokers' },
      { fault: 'disk-full', targets: ['b2'] },
      { fault: 'disk-readonly' },
    ]);
    const bad = parseFaults('latency=fast,loss=-3,reorder=20@');
    expect(bad.map((f) => JSON.stringify(f))).toEqual([
      '{"fault":"latency","delayMs":null,"jitterMs":0}',
      '{"fault":"loss","percent":null}',
      '{"fault":"reorder","percent":20,"delayMs":null}',
    ]);
    expect(bad.map((f) => Object.values(f).some((v) => Number.isNaN(v)))).toEqual([true, true, true]);
  });

  it('a process cluster injects every fault kind; unknown names are left to validation', () => {
    expect(unsupportedFaults(parseFaults('kill,stop,pause,partition,latency,loss,reorder,disk-full,disk-readonly,power-loss:b1,bogus'))).toEqual([]);
    expect(runConfig({ seed: 1, durationMs: 60_000, controllers: 1, brokers: 1, faults: parseFaults('powerloss'), outDir: '/x' }).problems[0]).toMatch(/unknown fault "powerloss" \(did you mean "power-loss"\?\)/);
  });
});

describe('run validation (before anything starts)', () => {
  const good: NemesisRunOptions = { seed: 1, durationMs: 60_000, controllers: 3, brokers: 3, faults: parseFaults('kill,pause,partition'), outDir: '/nonexistent' };

  it('accepts a sound run', () => {
    expect(runConfig(good).problems).toEqual([]);
  });

  it('live consumers: 0..16 of each kind (0 and 0: only the final read-back)', () => {
    expect(runConfig({ ...good, consumers: { assign: 0, group: 0 } }).problems).toEqual([]);
    expect(runConfig({ ...good, consumers: { group: 16 } }).problems).toEqual([]);
    expect(runConfig({ ...good, consumers: { assign: -1, group: 1.5 } }).problems).toEqual([
      'consumers.assign must be an integer in 0..16, got -1',
      'consumers.group must be an integer in 0..16, got 1.5',
    ]);
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
    expect(() => prepareRun({ ...good, faults: parseFaults('kill,power-loss:b9') })).toThrow(NemesisConfigError);
    await expect(runNemesis({ ...good, outDir, faults: parseFaults('partition:c1/c9') })).rejects.toThrow(/node "c9" does not exist/);
    expect(existsSync(outDir)).toBe(false);
  });

  it('containers (image): every fault kind too; more brokers than a container cluster runs and bad image names are refused, all at once', () => {
    const all = parseFaults('kill,stop,pause,partition,latency,loss,reorder,disk-full,disk-readonly,power-loss');
    expect(unsupportedFaults(all, 'containers')).toEqual([]);
    expect(runConfig({ ...good, image: 'tributary:test', faults: all }).problems).toEqual([]);
    expect(runConfig({ ...good, image: '-v x', brokers: 17 }).problems).toEqual([
      'image must be a docker image reference such as tributary:test, got "-v x"',
      'a container cluster runs at most 16 brokers, got 17; use fewer or run local processes (no image)',
    ]);
  });

  it('containers: prepareRun checks the engine and the image before anything starts', () => {
    // A docker CLI that cannot exist: the engine check fails, and says what to do.
    const saved = process.env.TRIB_DOCKER;
    process.env.TRIB_DOCKER = '/nonexistent/docker';
    try {
      expect(() => prepareRun({ ...good, image: 'tributary:test' })).toThrow(/needs a docker engine, and `\/nonexistent\/docker version` reaches none/);
    } finally {
      if (saved === undefined) delete process.env.TRIB_DOCKER;
      else process.env.TRIB_DOCKER = saved;
    }
  });
});

describe('netem and disk faults (pure parts)', () => {
  const good: NemesisRunOptions = { seed: 1, durationMs: 60_000, controllers: 3, brokers: 3, faults: parseFaults('latency,loss,disk-full'), outDir: '/nonexistent' };

  it('rejects bad netem values, an unknown node and a bad disk size before anything starts, all at once', () => {
    expect(runConfig(good).problems).toEqual([]);
    const { problems } = runConfig({ ...good, faults: parseFaults('latency=20000,loss=150:b9,reorder=0@5,disk-readonly'), diskBytes: 1024 });
    expect(problems).toEqual([
      'faults[0]: delayMs must be an integer number of milliseconds in 1..10000, got 20000',
      'faults[1]: percent must be in (0, 100], got 150',
      'faults[1].targets: node "b9" does not exist; the cluster has c1, c2, c3, b1, b2, b3',
      'faults[2]: percent must be in (0, 100], got 0',
      'diskBytes must be an integer in 16777216..4294967296 (16 MiB..4 GiB, held in RAM per node), got 1024',
    ]);
    expect(runConfig({ ...good, faults: parseFaults('latency=fast') }).problems).toEqual(['faults[0]: delayMs must be an integer number of milliseconds in 1..10000, got NaN']);
    expect(runConfig({ ...good, disks: false }).problems).toEqual(['disks: false, but disk-full/disk-readonly need each node on a disk of its own; drop disks: false or those faults']);
    // No disk faults, no disks: the size is not looked at.
    expect(runConfig({ ...good, faults: parseFaults('kill'), diskBytes: 1 }).problems).toEqual([]);
  });

  it('turns a schedule event into netem parameters', () => {
    const schedule = nemesisSchedule({ seed: 3, cluster: { controllers: 3, brokers: 3, combined: false, replicationFactor: 3 }, faults: parseFaults('latency=200~50:b1,loss=7,reorder=30@80'), durationMs: 120_000, faultMs: [5_000, 5_000], quietMs: [5_000, 5_000] });
    const starts = schedule.events.filter((e) => e.phase === 'start').slice(0, 3);
    expect(starts.map(netemParams)).toEqual([
      { kind: 'latency', delayMs: 200, jitterMs: 50 },
      { kind: 'loss', percent: 7 },
      { kind: 'reorder', percent: 30, delayMs: 80 },
    ]);
    expect(starts[0]!.targets).toEqual(['b1']);
    const kill = nemesisSchedule({ seed: 3, cluster: { controllers: 1, brokers: 1, combined: false, replicationFactor: 1 }, faults: parseFaults('kill'), durationMs: 20_000, faultMs: [5_000, 5_000], quietMs: [5_000, 5_000] }).events[0]!;
    expect(() => netemParams(kill)).toThrow(/kill is not a netem fault/);
  });

  it('netem rules match only the faulted nodes\' groups on lo: loss in the kernel, delay and reorder through the queue', () => {
    const text = (rules: string[][]): string[] => rules.map((r) => r.join(' '));
    expect(text(netemRules('TRIBNETEM-9', [47004, 47005], { kind: 'loss', percent: 12.5 }, 0))).toEqual([
      '-A TRIBNETEM-9 -o lo -m owner --gid-owner 47004 -m statistic --mode random --probability 0.125000 -j DROP',
      '-A TRIBNETEM-9 -o lo -m owner --gid-owner 47005 -m statistic --mode random --probability 0.125000 -j DROP',
    ]);
    expect(text(netemRules('TRIBNETEM-9', [47001], { kind: 'latency', delayMs: 200, jitterMs: 50 }, 12_345))).toEqual([
      '-A TRIBNETEM-9 -o lo -m owner --gid-owner 47001 -j NFQUEUE --queue-num 12345 --queue-bypass',
    ]);
    expect(delayerCommand({ kind: 'latency', delayMs: 200, jitterMs: 50 })).toEqual({ delayMs: 200, jitterMs: 50 });
    expect(delayerCommand({ kind: 'reorder', percent: 25, delayMs: 50 })).toEqual({ delayMs: 50, reorderPercent: 25 });
    expect(delayerCommand({ kind: 'loss', percent: 5 })).toBeNull();
    expect(() => netemRules('T', [1], { kind: 'latency', delayMs: 10_001, jitterMs: 0 }, 1)).toThrow('netem: delayMs must be an integer number of milliseconds in 1..10000, got 10001');
    expect(() => netemRules('T', [1], { kind: 'loss', percent: 5 }, 70_000)).toThrow('NFQUEUE number must be in 0..65535, got 70000');
    expect(netemProblems({ kind: 'reorder', percent: 101, delayMs: 0 }, 'x')).toEqual([
      'x: percent must be in (0, 100] (0 would inject nothing), got 101',
      'x: delayMs (reorder needs a delay) must be an integer number of milliseconds in 1..10000, got 0',
    ]);
  });

  it('plans a disk per node: the data folder below the mount point, the mount named after the run', () => {
    const nodes = planNodes({ controllers: 1, brokers: 1, dir: '/tmp/c', host: '127.0.0.1', overrides: {}, disks: true }, ports);
    expect(nodes.map((n) => [n.diskDir, n.dataDir])).toEqual([['/tmp/c/c1/disk', '/tmp/c/c1/disk/data'], ['/tmp/c/b1/disk', '/tmp/c/b1/disk/data']]);
    expect(nodes[1]!.args).toContain('log.dirs=/tmp/c/b1/disk/data');
    expect(planNodes({ controllers: 1, brokers: 1, dir: '/tmp/c', host: '127.0.0.1', overrides: {} }, ports)[0]!.diskDir).toBeNull();
    // Read-only: made in a stage nobody opens files under, then moved on top (a bind straight onto the disk would be
    // writable for a moment, get files opened through it, and refuse the remount with EBUSY).
    expect(diskMountArgs({ name: 'b1', diskDir: '/tmp/c/b1/disk' }, 268_435_456, 'tribchaos-77')).toEqual({
      mount: [['-t', 'tmpfs', '-o', 'size=268435456,mode=0755', 'tribchaos-77', '/tmp/c/b1/disk'], ['--make-private', '/tmp/c/b1/disk']],
      stage: '/tmp/c/b1/disk/.ro-stage',
      readonly: [['--bind', '/tmp/c/b1/disk', '/tmp/c/b1/disk/.ro-stage'], ['-o', 'remount,bind,ro', '/tmp/c/b1/disk/.ro-stage'], ['--move', '/tmp/c/b1/disk/.ro-stage', '/tmp/c/b1/disk']],
    });
    expect(parseMounts('tribchaos-77 /tmp/a\\040b tmpfs rw 0 0\nproc /proc proc rw 0 0\n')).toEqual([
      { source: 'tribchaos-77', target: '/tmp/a b' },
      { source: 'proc', target: '/proc' },
    ]);
    expect(diskSizeProblems(DISK_BYTES_DEFAULT)).toEqual([]);
    expect(() => new NodeDisks([], 5)).toThrow(/diskBytes must be an integer in 16777216\.\.4294967296/);
  });
});
