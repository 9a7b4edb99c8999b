// Netem and disk faults for real (root, iptables and mount needed; skipped otherwise, reason printed).
// Netem: two echo servers, each under its own group as a node runs; only the faulted one's answers are delayed,
// dropped or reordered, the other and this process are untouched, and heal and dispose leave no rule behind.
// Disks: a tmpfs per node that fills until ENOSPC, goes read-only and back, and is always unmounted; then a real
// controller and broker on such disks: a full disk makes Produce fail with KAFKA_STORAGE_ERROR, heal lets it succeed.
// Power loss: a broker on the lazy file system, kill -9: records acknowledged from the page cache are gone, fsynced ones stay.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaClient } from '@tributary/client';
import { harnessMounts, Netem, netemChains, NodeDisks, ProcessCluster, removeStaleDisks, removeStaleNetemChains } from '../src/index.ts';

const why = ((): string | null => {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    execFileSync('iptables', ['-t', 'mangle', '-S', 'OUTPUT'], { stdio: 'ignore' });
    execFileSync('python3', ['-c', 'import socket; socket.AF_NETLINK'], { stdio: 'ignore' });
    return null;
  } catch (err) {
    return `iptables mangle or python3 unusable: ${(err as Error).message.split('\n')[0]}`;
  }
})();
if (why !== null) process.stdout.write(`faults-real: skipped (${why})\n`);

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'trib-harness-faults-'));
  dirs.push(d);
  return d;
};
const children: ChildProcess[] = [];
afterAll(() => {
  children.forEach((c) => c.kill('SIGKILL'));
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const ECHO = `const s = require('node:net').createServer((c) => { c.setNoDelay(true); c.on('data', (d) => c.write(d)); c.on('error', () => {}); });
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;

/** An echo server running under `gid`, as a node does; resolves to its port. */
async function echoServer(gid: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', ECHO], { gid, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolvePort, reject) => {
    child.stdout!.once('data', (c: Buffer) => resolvePort(Number(c.toString('utf8').trim())));
    child.once('exit', (code) => reject(new Error(`echo server exited with ${code}`)));
  });
}

/** Round trips of one byte on one connection; a round trip that takes longer than `timeoutMs` is Infinity. */
async function roundTrips(port: number, count: number, timeoutMs = 3_000): Promise<number[]> {
  const socket: Socket = connect({ port, host: '127.0.0.1', noDelay: true });
  socket.on('error', () => undefined);
  const times: number[] = [];
  try {
    await new Promise<void>((r, reject) => {
      socket.once('connect', r);
      setTimeout(() => reject(new Error(`no connection to ${port} within ${timeoutMs} ms`)), timeoutMs).unref();
    });
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      const got = await new Promise<boolean>((r) => {
        const timer = setTimeout(() => r(false), timeoutMs);
        socket.once('data', () => {
          clearTimeout(timer);
          r(true);
        });
        socket.write('x');
      });
      times.push(got ? performance.now() - t : Infinity);
      if (!got) break;
    }
  } finally {
    socket.destroy();
  }
  return times;
}

describe.skipIf(why !== null)('netem on loopback (iptables mangle + NFQUEUE delayer)', () => {
  const netem = new Netem({ python: 'python3', seed: 7 });
  afterAll(() => netem.dispose());

  it('delays, drops and reorders only the faulted group\'s packets, and heals', { timeout: 60_000 }, async () => {
    const faulted = await echoServer(47_901);
    const other = await echoServer(47_902);
    netem.install();
    expect(netemChains()).toContain(netem.chain);

    await netem.apply([47_901], { kind: 'latency', delayMs: 300, jitterMs: 0 });
    expect(netem.rules()).toEqual([`-A ${netem.chain} -o lo -m owner --gid-owner 47901 -j NFQUEUE --queue-num ${netem.rules()[0]!.match(/--queue-num (\d+)/)![1]} --queue-bypass`]);
    // The server's answer waits 300 ms before it leaves: no round trip can be faster.
    const slow = await roundTrips(faulted, 3);
    expect(Math.min(...slow)).toBeGreaterThanOrEqual(300);
    // Not targeted: neither the other server nor this process (the client side) waits.
    expect(Math.max(...(await roundTrips(other, 3)))).toBeLessThan(300);

    // 100% loss of the faulted server's packets: nothing comes back; the other one still answers.
    await netem.apply([47_901], { kind: 'loss', percent: 100 });
    expect(netem.rules().length).toBe(1);
    expect(netem.rules()[0]).toMatch(new RegExp(`^-A ${netem.chain} -o lo -m owner --gid-owner 47901 -m statistic --mode random --probability 1\\.0+ -j DROP$`));
    await expect(roundTrips(faulted, 1, 1_500)).rejects.toThrow(/no connection/);
    expect((await roundTrips(other, 2)).every(Number.isFinite)).toBe(true);

    // Reorder 50% of packets: those go at once, the rest wait 400 ms; over 30 round trips both kinds show up.
    await netem.apply([47_901], { kind: 'reorder', percent: 50, delayMs: 400 });
    const mixed = await roundTrips(faulted, 30);
    expect(mixed.some((t) => t < 400)).toBe(true);
    expect(mixed.some((t) => t >= 400 && Number.isFinite(t))).toBe(true);

    await netem.heal();
    expect(netem.rules()).toEqual([]);
    expect(Math.max(...(await roundTrips(faulted, 3)))).toBeLessThan(300);
    expect(netem.active).toBeNull();
  });

  it('refuses bad values before touching anything', async () => {
    await expect(netem.apply([47_901], { kind: 'latency', delayMs: 20_000, jitterMs: 0 })).rejects.toThrow('netem: delayMs must be an integer number of milliseconds in 1..10000, got 20000');
    await expect(netem.apply([], { kind: 'loss', percent: 5 })).rejects.toThrow(/at least one node/);
  });

  it('dispose removes the chain and its jump; chains of dead runs are removed, live ones kept', () => {
    netem.dispose();
    expect(netemChains()).not.toContain(netem.chain);
    expect(execFileSync('iptables', ['-t', 'mangle', '-S', 'OUTPUT'], { encoding: 'utf8' })).not.toContain(netem.chain);
    const dead = 'TRIBNETEM-999999999';
    const live = new Netem({ python: 'python3' });
    live.install();
    execFileSync('iptables', ['-t', 'mangle', '-N', dead]);
    execFileSync('iptables', ['-t', 'mangle', '-I', 'OUTPUT', '-j', dead]);
    try {
      expect(removeStaleNetemChains()).toEqual([dead]);
      expect(netemChains()).toContain(live.chain);
      expect(execFileSync('iptables', ['-t', 'mangle', '-S', 'OUTPUT'], { encoding: 'utf8' })).not.toContain(dead);
    } finally {
      live.dispose();
    }
  });
});

describe.skipIf(why !== null)('node disks (tmpfs per node) and power loss (lazy file system)', () => {
  it('fills until ENOSPC, frees, goes read-only for new files and back, and always unmounts', () => {
    const dir = tempDir();
    const disks = new NodeDisks([{ name: 'n1', diskDir: join(dir, 'n1', 'disk') }, { name: 'n2', diskDir: join(dir, 'n2', 'disk') }], 16 * 1024 * 1024);
    disks.mountAll();
    try {
      expect(disks.mountedTargets().sort()).toEqual([join(dir, 'n1', 'disk'), join(dir, 'n2', 'disk')]);
      const data = join(dir, 'n1', 'disk', 'data');
      mkdirSync(data);
      const open = openSync(join(data, 'segment'), 'a');
      writeSync(open, Buffer.alloc(8192, 1));

      const filled = disks.fill('n1');
      expect(filled).toBeGreaterThan(15 * 1024 * 1024);
      expect(disks.state('n1')).toBe('full');
      expect(() => writeSync(open, Buffer.alloc(65_536, 2))).toThrow(/ENOSPC/);
      // The other node's disk is its own.
      writeFileSync(join(dir, 'n2', 'disk', 'x'), Buffer.alloc(1024 * 1024));
      disks.heal('n1');
      expect(disks.state('n1')).toBe('ok');
      writeSync(open, Buffer.alloc(65_536, 2));

      disks.makeReadonly('n1');
      expect(disks.state('n1')).toBe('readonly');
      expect(() => writeFileSync(join(data, 'new'), 'x')).toThrow(/EROFS/);
      expect(() => rmSync(join(data, 'segment'))).toThrow(/EROFS|Read-only file system/);
      expect(() => disks.fill('n1')).toThrow(/read-only; heal it before filling it/);
      // What the read-only mount cannot stop (see disks.ts): a descriptor opened before the fault still writes.
      writeSync(open, Buffer.alloc(10, 3));
      disks.heal('n1');
      writeFileSync(join(data, 'new'), 'x');
      expect(disks.mountedTargets().length).toBe(2);
      expect(() => disks.fill('n9')).toThrow('no disk for node "n9"; the cluster\'s disks are n1, n2');
      closeSync(open);
    } finally {
      disks.disposeSync();
    }
    expect(disks.mountedTargets()).toEqual([]);
    expect(harnessMounts().filter((m) => m.target.startsWith(dir))).toEqual([]);
    expect(existsSync(join(dir, 'n1', 'disk', 'data'))).toBe(false);
  });

  it('goes read-only while another process keeps opening files for writing on the disk', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const disks = new NodeDisks([{ name: 'n1', diskDir: join(dir, 'disk') }], 16 * 1024 * 1024);
    disks.mountAll();
    const data = join(dir, 'disk', 'data');
    mkdirSync(data);
    // What a broker does: opens files for writing at any moment (segments, checkpoints), and keeps some open.
    const writer = spawn(process.execPath, ['-e', `const fs = require('node:fs'); const keep = []; let i = 0;
      setInterval(() => { try { const fd = fs.openSync(${JSON.stringify(data)} + '/f' + (i++ % 50), 'a'); fs.writeSync(fd, 'x'); if (keep.length < 20) keep.push(fd); else fs.closeSync(fd); } catch {} }, 1);`], { stdio: 'ignore' });
    children.push(writer);
    try {
      await new Promise((r) => setTimeout(r, 300));
      for (let round = 0; round < 5; round++) {
        disks.makeReadonly('n1');
        expect(() => writeFileSync(join(data, `probe-${round}`), 'x')).toThrow(/EROFS|read-only/i);
        await new Promise((r) => setTimeout(r, 100));
        disks.heal('n1');
        writeFileSync(join(data, `probe-${round}`), 'x');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      writer.kill('SIGKILL');
      await new Promise((r) => writer.once('exit', r));
      disks.disposeSync();
    }
    expect(disks.mountedTargets()).toEqual([]);
  });

  it('unmounts disks of dead runs, a read-only layer included', () => {
    const target = join(tempDir(), 'stale');
    mkdirSync(target);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tribchaos-999999999', target]);
    execFileSync('mount', ['--bind', target, target]);
    expect(harnessMounts().filter((m) => m.target === target).length).toBe(2);
    expect(removeStaleDisks()).toEqual([target]);
    expect(harnessMounts().filter((m) => m.target === target)).toEqual([]);
  });

  it('a broker on a full disk answers Produce with KAFKA_STORAGE_ERROR and takes writes again after heal', { timeout: 120_000 }, async () => {
    const cluster = await ProcessCluster.start({ controllers: 1, brokers: 1, dir: tempDir(), partitions: false, diskBytes: 32 * 1024 * 1024 });
    const mounts = cluster.diskMounts();
    const client = new KafkaClient({ bootstrapServers: cluster.bootstrap, requestTimeoutMs: 10_000 });
    // Larger than a page: an append that fits in the segment's last page needs no new space.
    const record = (v: string): { value: string } => ({ value: v.padEnd(65_536, '.') });
    try {
      expect(mounts.length).toBe(2);
      await client.connect();
      await client.createTopics([{ name: 'full', numPartitions: 1, replicationFactor: 1 }]);
      let first = -1;
      for (let i = 0; i < 50 && first < 0; i++) {
        first = await client.produce('full', 0, [record('a')], { timeoutMs: 5_000 }).catch(() => -1);
        if (first < 0) await new Promise((r) => setTimeout(r, 200));
      }
      expect(first).toBe(0);
      cluster.diskFull(['b1']);
      await expect(client.produce('full', 0, [record('b')], { timeoutMs: 5_000 })).rejects.toThrow(/KAFKA_STORAGE_ERROR.*ENOSPC/);
      expect(cluster.state('b1')).toBe('running');
      cluster.diskHeal(['b1']);
      // The failed append left nothing behind: the next record takes the next offset.
      expect(await client.produce('full', 0, [record('c')], { timeoutMs: 5_000 })).toBe(1);
      const read = await client.fetch('full', 0, 0);
      expect(read.records.map((r) => r.value?.toString('utf8').replace(/\.+$/, ''))).toEqual(['a', 'c']);
    } finally {
      await client.close();
      await cluster.destroy();
    }
    expect(cluster.diskMounts()).toEqual([]);
    expect(harnessMounts().filter((m) => mounts.includes(m.target))).toEqual([]);
  });

  it('tears down on SIGINT: nodes, the netem chain, the delayer and the disks are gone', { timeout: 120_000 }, async () => {
    const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/faulted-cluster-then-wait.ts'), tempDir()], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const ready = await new Promise<{ pids: number[]; chain: string; mounts: string[]; delayers: number[] }>((resolveReady, reject) => {
      let out = '';
      let err = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString('utf8');
        if (out.includes('\n')) resolveReady(JSON.parse(out.split('\n')[0]!) as { pids: number[]; chain: string; mounts: string[]; delayers: number[] });
      });
      child.stderr!.on('data', (c: Buffer) => { err += c.toString('utf8'); });
      void exited.then((code) => reject(new Error(`fixture exited with ${code} before it was ready: ${err.slice(-2000)}`)));
    });
    expect(ready.mounts.length).toBe(2);
    expect(netemChains()).toContain(ready.chain);
    expect(ready.delayers.length).toBeGreaterThan(0);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const gone = async (pids: readonly number[]): Promise<number[]> => {
      const running = (pid: number): boolean => {
        try {
          process.kill(pid, 0);
          return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 50 && pids.some(running); i++) await new Promise((r) => setTimeout(r, 100));
      return pids.filter(running);
    };
    expect(await gone([...ready.pids, ...ready.delayers])).toEqual([]);
    expect(netemChains()).not.toContain(ready.chain);
    expect(harnessMounts().filter((m) => ready.mounts.includes(m.target))).toEqual([]);
  });

  it('power loss: kill -9 on the lazy file system drops unsynced records (a topic acknowledging from the page cache) and keeps fsynced ones (the default)', { timeout: 120_000 }, async () => {
    const cluster = await ProcessCluster.start({ controllers: 1, brokers: 1, dir: tempDir(), partitions: false, lazyFs: true });
    const client = new KafkaClient({ bootstrapServers: cluster.bootstrap, requestTimeoutMs: 10_000 });
    const produce = async (topic: string, value: string): Promise<number> => {
      // Bounded: the partition may still be electing its leader (after create, after restart).
      for (let i = 0; ; i++) {
        try {
          return await client.produce(topic, 0, [{ value }], { timeoutMs: 5_000 });
        } catch (err) {
          if (i >= 100) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };
    const values = async (topic: string): Promise<string[]> => (await client.fetch(topic, 0, 0)).records.map((r) => r.value?.toString('utf8') ?? '');
    const before = Array.from({ length: 20 }, (_, i) => `before-${i}`);
    try {
      await client.connect();
      // flush.messages set: Kafka's lazy mode, acknowledged once in the page cache. Unset: acknowledged once fsynced.
      await client.createTopics([
        { name: 'lazy', numPartitions: 1, replicationFactor: 1, configs: { 'flush.messages': '1000000000' } },
        { name: 'durable', numPartitions: 1, replicationFactor: 1 },
      ]);
      for (const topic of ['lazy', 'durable']) {
        const acked: number[] = [];
        for (const v of before) acked.push(await produce(topic, v));
        expect(acked).toEqual(before.map((_, i) => i));
      }
      await cluster.powerLoss(['b1']);
      expect(cluster.state('b1')).toBe('stopped');
      await cluster.restart(['b1']);

      expect(await produce('durable', 'after')).toBe(20);
      expect(await values('durable')).toEqual([...before, 'after']);
      const next = await produce('lazy', 'after');
      // Acknowledged from the page cache on the only replica: the power cut took them (that is the fault).
      expect(next).toBeLessThan(20);
      expect(await values('lazy')).toEqual([...before.slice(0, next), 'after']);
      process.stdout.write(`power loss: ${20 - next} of 20 records acknowledged from the page cache are gone, 0 of 20 fsynced ones\n`);

      // The controller's metadata log is on the lazy file system too: a power cut of the controller keeps every
      // committed record (both topics), since the quorum commits only what is fsynced.
      const topicsNow = async (): Promise<unknown[]> => (await client.metadata(['lazy', 'durable'])).topics.map((t) => [t.name, t.errorCode, t.partitions.length]);
      expect(await topicsNow()).toEqual([['lazy', 0, 1], ['durable', 0, 1]]);
      await cluster.powerLoss(['c1', 'b1']);
      await cluster.restart(['c1', 'b1']);
      expect(await produce('durable', 'after-controller-cut')).toBe(21);
      expect(await topicsNow()).toEqual([['lazy', 0, 1], ['durable', 0, 1]]);
      await client.createTopics([{ name: 'after-cut', numPartitions: 1, replicationFactor: 1 }]);
      expect(await produce('after-cut', 'x')).toBe(0);
    } finally {
      await client.close();
      await cluster.destroy();
    }
    await expect(ProcessCluster.start({ controllers: 1, brokers: 1, dir: tempDir(), partitions: false }).then(async (c) => {
      try {
        await c.powerLoss(['b1']);
      } finally {
        await c.destroy();
      }
    })).rejects.toThrow(/started without lazyFs/);
  });
});
