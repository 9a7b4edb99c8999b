// The container cluster's netem, disk and power-loss faults: the pure parts (rule shapes, mount sequence, plan with
// disks and lazyFs), then for real when a Docker engine, the image (scripts/setup-docker.sh), root, iptables, nsenter
// and python3 are here (skipped otherwise, the reason printed): one controller and one broker in containers on host
// tmpfs disks, with latency and loss measured from the host, a full and a read-only disk, and a power cut.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaClient } from '@tributary/client';
import {
  checkContainerTools, checkNetemTools, CONTAINER_DATA_DIR, CONTAINER_NETEM_CHAIN, ContainerCluster, containerNetemRule, containerReadonlyMounts, defaultPython, delayerArgv,
  CONTAINER_LABEL_RUN, harnessMounts, netemRules, planContainerNodes,
} from '../src/index.ts';

const image = process.env.TRIB_DOCKER_IMAGE ?? 'tributary:test';

describe('container fault plumbing (pure)', () => {
  it('matches everything a container sends on eth0, with the same rule shapes as processes on lo', () => {
    expect(containerNetemRule('TRIBNETEM', { kind: 'loss', percent: 25 }, 0)).toEqual(['-A', 'TRIBNETEM', '-o', 'eth0', '-m', 'statistic', '--mode', 'random', '--probability', '0.250000', '-j', 'DROP']);
    expect(containerNetemRule('TRIBNETEM', { kind: 'latency', delayMs: 200, jitterMs: 20 }, 10_004)).toEqual(['-A', 'TRIBNETEM', '-o', 'eth0', '-j', 'NFQUEUE', '--queue-num', '10004', '--queue-bypass']);
    // The tails are the loopback rules' tails: one shape, two matches.
    expect(containerNetemRule('X', { kind: 'reorder', percent: 30, delayMs: 40 }, 7).slice(4)).toEqual(netemRules('X', [47_001], { kind: 'reorder', percent: 30, delayMs: 40 }, 7)[0]!.slice(8));
  });

  it('refuses bad parameters and queue numbers before any rule exists', () => {
    expect(() => containerNetemRule('X', { kind: 'loss', percent: 0 }, 0)).toThrow(/percent must be in \(0, 100\]/);
    expect(() => containerNetemRule('X', { kind: 'latency', delayMs: 20_000, jitterMs: 0 }, 0)).toThrow(/delayMs must be an integer number of milliseconds in 1\.\.10000/);
    expect(() => containerNetemRule('X', { kind: 'latency', delayMs: 10, jitterMs: 0 }, 70_000)).toThrow(/NFQUEUE number must be in 0\.\.65535/);
  });

  it('runs a container\'s delayer in its network namespace through nsenter', () => {
    const argv = delayerArgv('/usr/bin/python3', 10_004, 7, ['nsenter', '-t', '1234', '-n']);
    expect(argv.slice(0, 5)).toEqual(['nsenter', '-t', '1234', '-n', '/usr/bin/python3']);
    expect(argv[5]).toMatch(/python\/nfq_delay\.py$/);
    expect(argv.slice(6)).toEqual(['10004', '7']);
  });

  it('stacks the read-only mount on the data folder through a stage folder on the disk itself', () => {
    const { stage, readonly } = containerReadonlyMounts();
    expect(stage).toBe(`${CONTAINER_DATA_DIR}/.ro-stage`);
    expect(readonly).toEqual([['--bind', CONTAINER_DATA_DIR, stage], ['-o', 'remount,bind,ro', stage], ['--move', stage, CONTAINER_DATA_DIR]]);
  });

  it('with disks, puts each node on <root>/<node>/disk with log.dirs one level down; lazyFs sets TRIB_FAULT_FS', () => {
    const nodes = planContainerNodes({ controllers: 1, brokers: 1, runId: 'r', clusterId: 'c', env: {}, diskRoot: '/tmp/x', lazyFs: true }, [30001]);
    expect(nodes.map((n) => [n.name, n.diskDir, n.env.KAFKA_LOG_DIRS, n.env.TRIB_FAULT_FS])).toEqual([
      ['c1', '/tmp/x/c1/disk', '/var/lib/tributary/data', 'lazy'],
      ['b1', '/tmp/x/b1/disk', '/var/lib/tributary/data', 'lazy'],
    ]);
    const plain = planContainerNodes({ controllers: 1, brokers: 1, runId: 'r', clusterId: 'c', env: {} }, [30001]);
    expect(plain.map((n) => [n.diskDir, n.env.KAFKA_LOG_DIRS, n.env.TRIB_FAULT_FS])).toEqual([[null, undefined, undefined], [null, undefined, undefined]]);
  });
});

const run = async (cmd: string, args: readonly string[]): Promise<{ ok: boolean; out: string }> =>
  await new Promise((r) => execFile(cmd, args, { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => r({ ok: err === null, out: `${stdout}${stderr}` })));

const unavailable = await (async (): Promise<string | null> => {
  const problems = [...(await checkContainerTools()), ...checkNetemTools(defaultPython)];
  if (problems.length > 0) return problems.join('; ');
  if (!(await run('docker', ['image', 'inspect', image])).ok) return `image ${image} is missing (scripts/setup-docker.sh builds it)`;
  return null;
})();
if (unavailable !== null) process.stdout.write(`container fault tests skipped: ${unavailable}\n`);

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe.skipIf(unavailable !== null)('ContainerCluster faults (real containers: netem and disks)', () => {
  let cluster: ContainerCluster | null = null;
  let client: KafkaClient | null = null;
  const c = (): ContainerCluster => {
    if (cluster === null) throw new Error('cluster not started (see the beforeAll error)');
    return cluster;
  };
  const k = (): KafkaClient => client!;
  const produce = async (topic: string, value: string): Promise<number> => {
    // Bounded: the partition may still be electing its leader (after create, after restart).
    for (let i = 0; ; i++) {
      try {
        return await k().produce(topic, 0, [{ value }], { timeoutMs: 5_000 });
      } catch (err) {
        if (i >= 100) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  /** Round trips of a small request from the host to the broker (its answers leave through the container's eth0). */
  const roundTripsMs = async (n: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await k().metadata([]);
      out.push(performance.now() - t0);
    }
    return out;
  };

  beforeAll(async () => {
    // Without lazyFs: on the lazy file system an append lands in memory and ENOSPC comes at the flush instead.
    cluster = await ContainerCluster.start({ controllers: 1, brokers: 1, image, netem: true, diskBytes: 32 * 1024 * 1024, seed: 3 });
    client = new KafkaClient({ bootstrapServers: cluster.bootstrap, requestTimeoutMs: 10_000 });
    await client.connect();
  }, 180_000);

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    const mounts = cluster?.diskMounts() ?? [];
    await cluster?.destroy();
    // Teardown leaves nothing: no disk mounted, no container.
    expect(harnessMounts().filter((m) => mounts.includes(m.target))).toEqual([]);
    if (cluster !== null) expect(await cluster.leftovers()).toEqual([]);
  }, 120_000);

  it('each node\'s data folder is a host tmpfs of its own', () => {
    expect(c().diskMounts().length).toBe(2);
  });

  it('latency: round trips from the host to the broker rise by the delay, and fall back after heal', { timeout: 60_000 }, async () => {
    await roundTripsMs(3);
    const before = median(await roundTripsMs(9));
    await c().netem(['b1'], { kind: 'latency', delayMs: 200, jitterMs: 0 });
    expect((await c().netemRules('b1')).join('\n')).toMatch(new RegExp(`-A ${CONTAINER_NETEM_CHAIN} -o eth0 -j NFQUEUE --queue-num \\d+ --queue-bypass`));
    expect(await c().netemRules('c1')).toEqual([]);
    const during = median(await roundTripsMs(9));
    await c().netemHeal();
    expect(await c().netemRules('b1')).toEqual([]);
    const after = median(await roundTripsMs(9));
    process.stdout.write(`container latency 200 ms: median round trip ${before.toFixed(1)} ms before, ${during.toFixed(1)} ms during, ${after.toFixed(1)} ms after heal\n`);
    expect(during).toBeGreaterThanOrEqual(before + 180);
    expect(after).toBeLessThan(before + 100);
  });

  it('loss: with every packet the broker sends dropped a request times out; heal lets the next one through', { timeout: 60_000 }, async () => {
    await c().netem(['b1'], { kind: 'loss', percent: 100 });
    expect((await c().netemRules('b1')).join('\n')).toMatch(/-o eth0 -m statistic --mode random --probability 1\.0+ -j DROP/);
    const lossy = new KafkaClient({ bootstrapServers: c().bootstrap, requestTimeoutMs: 2_000, connectTimeoutMs: 2_000 });
    try {
      await expect(lossy.connect().then(async () => await lossy.metadata([]))).rejects.toThrow();
    } finally {
      await lossy.close().catch(() => undefined);
    }
    await c().netemHeal();
    expect((await k().metadata([])).brokers.length).toBe(1);
  });

  it('latency is put back in the new namespace after a restart', { timeout: 120_000 }, async () => {
    await c().netem(['b1'], { kind: 'latency', delayMs: 150, jitterMs: 0 });
    await c().kill(['b1']);
    await c().restart(['b1']);
    expect((await c().netemRules('b1')).length).toBe(1);
    const during = median(await roundTripsMs(7));
    await c().netemHeal();
    expect(during).toBeGreaterThanOrEqual(140);
  });

  it('disk-full: the broker answers Produce with KAFKA_STORAGE_ERROR, and after heal the next record takes the next offset', { timeout: 60_000 }, async () => {
    await k().createTopics([{ name: 'full', numPartitions: 1, replicationFactor: 1 }]);
    // Larger than a page: an append that fits in the segment's last page needs no new space.
    const big = (v: string): string => v.padEnd(65_536, '.');
    expect(await produce('full', big('a'))).toBe(0);
    const filled = c().diskFull(['b1']);
    expect(filled.b1).toBeGreaterThan(0);
    await expect(k().produce('full', 0, [{ value: big('b') }], { timeoutMs: 5_000 })).rejects.toThrow(/KAFKA_STORAGE_ERROR.*ENOSPC/);
    expect(c().state('b1')).toBe('running');
    await c().diskHeal(['b1']);
    expect(await produce('full', big('c'))).toBe(1);
    const read = await k().fetch('full', 0, 0);
    expect(read.records.map((r) => r.value?.toString('utf8').replace(/\.+$/, ''))).toEqual(['a', 'c']);
  });

  it('disk-readonly: new files in the data folder fail with EROFS inside the container until heal; the broker takes writes after the restart', { timeout: 120_000 }, async () => {
    const container = c().info('b1').container;
    const touch = async (): Promise<{ ok: boolean; out: string }> => await run('docker', ['exec', container, 'sh', '-c', `touch ${CONTAINER_DATA_DIR}/data/probe && rm ${CONTAINER_DATA_DIR}/data/probe`]);
    expect((await touch()).ok).toBe(true);
    await c().diskReadonly(['b1']);
    const refused = await touch();
    expect(refused.ok).toBe(false);
    expect(refused.out).toMatch(/Read-only file system/);
    await c().diskHeal(['b1']);
    expect((await touch()).ok).toBe(true);
    // A flush that failed while read-only leaves the log refusing writes: a restart reopens it (as the runner's heal does).
    await c().stop(['b1']);
    await c().restart(['b1']);
    expect(await produce('full', 'after-readonly')).toBe(2);
  });

  it('refuses a power cut without lazyFs: a plain docker kill keeps what the host\'s page cache holds', async () => {
    await expect(c().powerLoss(['b1'])).rejects.toThrow(/started without lazyFs/);
    expect(c().state('b1')).toBe('running');
  });
});

describe.skipIf(unavailable !== null)('ContainerCluster power loss (real containers on the lazy file system)', () => {
  let cluster: ContainerCluster | null = null;
  let client: KafkaClient | null = null;
  const c = (): ContainerCluster => {
    if (cluster === null) throw new Error('cluster not started (see the beforeAll error)');
    return cluster;
  };
  const k = (): KafkaClient => client!;
  const produce = async (topic: string, value: string): Promise<number> => {
    // Bounded: the partition may still be electing its leader (after create, after restart).
    for (let i = 0; ; i++) {
      try {
        return await k().produce(topic, 0, [{ value }], { timeoutMs: 5_000 });
      } catch (err) {
        if (i >= 100) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };

  beforeAll(async () => {
    cluster = await ContainerCluster.start({ controllers: 1, brokers: 1, image, lazyFs: true });
    client = new KafkaClient({ bootstrapServers: cluster.bootstrap, requestTimeoutMs: 10_000 });
    await client.connect();
  }, 180_000);

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await cluster?.destroy();
    if (cluster !== null) expect(await cluster.leftovers()).toEqual([]);
  }, 120_000);

  it('power loss: docker kill on the lazy file system drops records acknowledged from the page cache and keeps fsynced ones', { timeout: 120_000 }, async () => {
    const before = Array.from({ length: 20 }, (_, i) => `before-${i}`);
    const values = async (topic: string): Promise<string[]> => (await k().fetch(topic, 0, 0)).records.map((r) => r.value?.toString('utf8') ?? '');
    // flush.messages set: Kafka's lazy mode, acknowledged once in the page cache. Unset: acknowledged once fsynced.
    await k().createTopics([
      { name: 'lazy', numPartitions: 1, replicationFactor: 1, configs: { 'flush.messages': '1000000000' } },
      { name: 'durable', numPartitions: 1, replicationFactor: 1 },
    ]);
    for (const topic of ['lazy', 'durable']) {
      const acked: number[] = [];
      for (const v of before) acked.push(await produce(topic, v));
      expect(acked).toEqual(before.map((_, i) => i));
    }
    await c().powerLoss(['b1']);
    expect(c().state('b1')).toBe('stopped');
    await c().restart(['b1']);
    expect(await produce('durable', 'after')).toBe(20);
    expect(await values('durable')).toEqual([...before, 'after']);
    const next = await produce('lazy', 'after');
    expect(next).toBeLessThan(20);
    expect(await values('lazy')).toEqual([...before.slice(0, next), 'after']);
    process.stdout.write(`container power loss: ${20 - next} of 20 records acknowledged from the page cache are gone, 0 of 20 fsynced ones\n`);
  });
});

describe.skipIf(unavailable !== null)('ContainerCluster teardown on SIGINT (faults in place)', () => {
  it('leaves no container, volume, network, disk mount or packet delayer', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-container-sigint-'));
    const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/faulted-containers-then-wait.ts'), image, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const ready = await new Promise<{ runId: string; mounts: string[]; delayers: number[] }>((resolveReady, reject) => {
      let out = '';
      let err = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.includes('\n')) resolveReady(JSON.parse(out.split('\n')[0]!) as { runId: string; mounts: string[]; delayers: number[] });
      });
      child.stderr!.on('data', (chunk: Buffer) => { err += chunk.toString('utf8'); });
      void exited.then((code) => reject(new Error(`fixture exited with ${code} before it was ready: ${err.slice(-2000)}`)));
    });
    expect(ready.mounts.length).toBe(2);
    expect(ready.delayers.length).toBeGreaterThan(0);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const label = `label=${CONTAINER_LABEL_RUN}=${ready.runId}`;
    const engine = await Promise.all([['ps', '-a'], ['volume', 'ls'], ['network', 'ls']].map(async (cmd) => (await run('docker', [...cmd, '--filter', label, '--format', '{{.ID}}'])).out.trim()));
    expect(engine).toEqual(['', '', '']);
    expect(harnessMounts().filter((m) => ready.mounts.includes(m.target))).toEqual([]);
    const running = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && ready.delayers.some(running); i++) await new Promise((r) => setTimeout(r, 100));
    expect(ready.delayers.filter(running)).toEqual([]);
  });
});
