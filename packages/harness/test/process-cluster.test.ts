// The process cluster and its firewall for real (root and iptables needed; skipped otherwise): a controller and
// a broker as processes, a client<->broker partition that cuts the client off and heals, kill -9 / restart /
// pause / resume, and teardown that leaves no process and no iptables chain, also when the run is interrupted.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaClient } from '@tributary/client';
import { Firewall, harnessChains, ProcessCluster, removeStaleChains } from '../src/index.ts';

const root = process.getuid?.() === 0 && (() => {
  try {
    execFileSync('iptables', ['-S', 'OUTPUT'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'trib-harness-cluster-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Running (a zombie waiting for its new parent to reap it counts as gone). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/** The pids still running after up to 5 s: a -9 takes effect at once, the exit is reported a moment later. */
async function survivors(pids: readonly number[]): Promise<number[]> {
  for (let i = 0; i < 50 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(alive);
}
const chainRules = (chain: string): string[] => execFileSync('iptables', ['-S', chain], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('-A'));

async function reachable(bootstrap: string): Promise<boolean> {
  const client = new KafkaClient({ bootstrapServers: bootstrap, requestTimeoutMs: 2_000, connectTimeoutMs: 1_500 });
  try {
    await client.connect();
    await client.metadata([]);
    return true;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

describe.skipIf(!root)('ProcessCluster (real processes, iptables)', () => {
  it('removes chains of dead runs and keeps those of live ones', () => {
    const dead = 'TRIBCHAOS-999999999';
    execFileSync('iptables', ['-N', dead]);
    execFileSync('iptables', ['-I', 'OUTPUT', '-j', dead]);
    expect(harnessChains()).toContain(dead);
    expect(removeStaleChains()).toContain(dead);
    expect(harnessChains()).not.toContain(dead);
    expect(execFileSync('iptables', ['-S', 'OUTPUT'], { encoding: 'utf8' })).not.toContain(dead);
  });

  it('partitions, heals, kills, restarts, pauses and tears down', { timeout: 120_000 }, async () => {
    const cluster = await ProcessCluster.start({ controllers: 1, brokers: 1, dir: tempDir() });
    const pids = cluster.names.map((n) => cluster.pid(n)!);
    try {
      expect(await reachable(cluster.bootstrap)).toBe(true);
      cluster.partition(['client'], ['b1']);
      expect(chainRules(`TRIBCHAOS-${process.pid}`).length).toBe(2);
      expect(await reachable(cluster.bootstrap)).toBe(false);
      cluster.heal();
      expect(chainRules(`TRIBCHAOS-${process.pid}`)).toEqual([]);
      expect(await reachable(cluster.bootstrap)).toBe(true);

      await cluster.kill(['b1']);
      expect(cluster.state('b1')).toBe('stopped');
      expect(alive(pids[1]!)).toBe(false);
      await cluster.restart(['b1']);
      expect(cluster.state('b1')).toBe('running');
      cluster.pause(['b1']);
      expect(cluster.state('b1')).toBe('paused');
      expect(await reachable(cluster.bootstrap)).toBe(false);
      cluster.resume(['b1']);
      expect(await reachable(cluster.bootstrap)).toBe(true);
      expect(() => cluster.partition(['c1'], ['b7'])).toThrow(/no node "b7" in this cluster; it has c1, b1/);
      pids.push(cluster.pid('b1')!);
    } finally {
      await cluster.destroy();
    }
    expect(await survivors(pids)).toEqual([]);
    expect(harnessChains()).not.toContain(`TRIBCHAOS-${process.pid}`);
  });

  it('tears down on SIGINT: node processes and the iptables chain are gone', { timeout: 120_000 }, async () => {
    const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/cluster-then-wait.ts'), tempDir()], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const ready = await new Promise<{ pids: number[]; chain: string }>((resolveReady, reject) => {
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString('utf8');
        if (out.includes('\n')) resolveReady(JSON.parse(out.split('\n')[0]!) as { pids: number[]; chain: string });
      });
      child.stderr.on('data', (c: Buffer) => { err += c.toString('utf8'); });
      void exited.then((code) => reject(new Error(`fixture exited with ${code} before it was ready: ${err.slice(-2000)}`)));
    });
    expect(ready.pids.every(alive)).toBe(true);
    expect(chainRules(ready.chain).length).toBeGreaterThan(0);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(await survivors(ready.pids)).toEqual([]);
    expect(harnessChains()).not.toContain(ready.chain);
  });

  it('a firewall that was never installed disposes quietly', () => {
    const fw = new Firewall([], 0);
    fw.heal();
    fw.dispose();
    expect(harnessChains()).not.toContain(fw.chain);
  });
});
