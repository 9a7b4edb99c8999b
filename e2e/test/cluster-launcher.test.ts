// `pnpm cluster` end to end: three combined nodes come up as one cluster (kcat sees 3 brokers from each),
// one is killed with SIGKILL and restarted from the state file, and `down` stops every process.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { runOk } from '../support/kcat.ts';
import { repoRoot } from '../support/node.ts';

const dir = mkdtempSync(join(tmpdir(), 'trib-cluster-e2e-'));
const outputMaxChars = 200_000;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `pnpm cluster <args> --dir <dir>` from the repository root, bounded in time. */
async function cluster(args: string[], timeoutMs = 120_000): Promise<Result> {
  return await new Promise((resolve, reject) => {
    const child = spawn('pnpm', ['cluster', ...args, '--dir', dir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => {
      if (stdout.length < outputMaxChars) stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < outputMaxChars) stderr += c.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function clusterOk(args: string[]): Promise<Result> {
  const r = await cluster(args);
  if (r.code !== 0) throw new Error(`pnpm cluster ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The last line of pnpm's output that is a JSON document (pnpm prints its own banner first). */
function lastJson(out: string): any {
  const line = out.split('\n').reverse().find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`no JSON in output:\n${out}`);
  return JSON.parse(line);
}

async function portFree(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** A base port with `count` free ports from it (random tries, bounded). */
async function freeRange(count: number, avoid: number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    if (avoid.some((a) => Math.abs(a - base) < count)) continue;
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/** Broker ids kcat (librdkafka) sees in the Metadata of one broker. */
async function kcatBrokers(address: string): Promise<number[]> {
  const r = await runOk('kcat', ['-L', '-J', '-b', address, '-m', '10'], { timeoutMs: 30_000 });
  const md = JSON.parse(r.stdout.toString('utf8')) as { brokers: { id: number; name: string }[] };
  return md.brokers.map((b) => b.id).sort((a, b) => a - b);
}

/** A process that exited but was not reaped (a zombie: its parent, `pnpm cluster up`, is gone) counts as dead. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

afterAll(async () => {
  // Whatever the test reached, leave no node running and no folder behind.
  await cluster(['down', '--purge', '--stop-timeout-ms', '5000']).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

test('pnpm cluster up --nodes 3, kill, restart, down', async (context) => {
  context.onTestFailed(async () => {
    for (const id of [1, 2, 3]) {
      const logs = await cluster(['logs', String(id), '--lines', '40']).catch(() => null);
      console.error(`--- node ${id} ---\n${logs?.stdout ?? ''}`);
    }
  });
  const basePort = await freeRange(3);
  const controllerBasePort = await freeRange(3, [basePort]);
  const started = lastJson((await clusterOk(['up', '--nodes', '3', '--base-port', String(basePort), '--controller-base-port', String(controllerBasePort), '--json'])).stdout);
  expect(started.nodes.map((n: any) => [n.id, n.roles.join(','), n.client, n.controller])).toEqual([1, 2, 3].map((id) => [id, 'broker,controller', `127.0.0.1:${basePort + id - 1}`, `127.0.0.1:${controllerBasePort + id - 1}`]));
  expect(started.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  const addresses = started.bootstrap.split(',') as string[];
  expect(addresses).toHaveLength(3);
  for (const address of addresses) expect(await kcatBrokers(address)).toEqual([1, 2, 3]);

  // SIGKILL node 2: the state file marks it dead, the others keep serving.
  const killed = await clusterOk(['kill', '2']);
  expect(killed.stdout).toMatch(/node 2 \(pid \d+\): sent SIGKILL; it exited/);
  const oldPid = started.nodes[1].pid as number;
  expect(alive(oldPid)).toBe(false);
  let status = lastJson((await clusterOk(['status', '--json'])).stdout);
  expect(status.nodes.map((n: any) => n.state)).toEqual(['alive', 'dead', 'alive']);
  expect(await kcatBrokers(addresses[0]!)).toContain(1);

  // Restart it with the same argv: it serves again and every broker lists all three.
  const restarted = await clusterOk(['restart', '2']);
  expect(restarted.stdout).toMatch(/node 2 \(pid \d+\) is up again after \d+ ms/);
  status = lastJson((await clusterOk(['status', '--json'])).stdout);
  expect(status.nodes.map((n: any) => n.state)).toEqual(['alive', 'alive', 'alive']);
  expect(status.nodes[1].pid).not.toBe(oldPid);
  expect(status.cluster.brokers.map((b: any) => b.nodeId)).toEqual([1, 2, 3]);
  expect(await kcatBrokers(addresses[1]!)).toEqual([1, 2, 3]);
  expect((await clusterOk(['logs', '2', '--lines', '400'])).stdout.split('"msg":"node started"').length - 1).toBe(2);

  // down stops every process and keeps the data; the state file records them stopped.
  const pids = (status.nodes as { pid: number }[]).map((n) => n.pid);
  await clusterOk(['down']);
  expect(pids.filter(alive)).toEqual([]);
  status = lastJson((await clusterOk(['status', '--json'])).stdout);
  expect(status.nodes.map((n: any) => [n.state, n.pid])).toEqual([['dead', null], ['dead', null], ['dead', null]]);
  expect(status.cluster).toEqual({ unavailable: 'no broker is alive' });
});
