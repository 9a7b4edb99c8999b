/**
 * Test support for quorums of real processes on loopback, shared by this package's tests and benchmarks and by
 * @tributary/controller's (exported as `@tributary/quorum/test-support`): free ports, bounded waits, and a set of
 * node processes started by id that are up once they log `"event":"listening"`. Every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** How many stderr chunks of a node are kept for error messages. */
const STDERR_TAIL_CHUNKS = 50;
/** How much of a starting node's stdout is searched for the listening line. */
const STDOUT_TAIL_CHARS = 4096;
const START_TIMEOUT_MS = 15_000;
const KILL_TIMEOUT_MS = 10_000;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  // Bounded by the deadline.
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** `size` voter addresses on loopback, ids 1..size, each on a free port. */
export async function loopbackVoters(size: number): Promise<Map<number, string>> {
  const addresses = new Map<number, string>();
  for (let id = 1; id <= size; id++) addresses.set(id, `127.0.0.1:${await freePort()}`);
  return addresses;
}

/** Starts every node of a new cluster; when one fails, closes the cluster (stopping the others) and rethrows. */
export async function startAll<C extends { readonly ids: number[]; startNode(id: number): Promise<void>; close(): Promise<void> }>(cluster: C): Promise<C> {
  try {
    await Promise.all(cluster.ids.map((id) => cluster.startNode(id)));
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}

interface Proc {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderrTail: string[];
}

/** Node processes by id, each `node <args>`; `label` names them in errors ("node", "controller"). */
export class NodeProcesses {
  readonly label: string;
  readonly #procs = new Map<number, Proc>();

  constructor(label: string) {
    this.label = label;
  }

  isRunning(id: number): boolean {
    return this.#procs.has(id);
  }

  /** Spawns `node <args>` as node `id` and resolves once it is listening (or rejects within 15 s). */
  async start(id: number, args: string[]): Promise<void> {
    if (this.#procs.has(id)) throw new Error(`${this.label} ${id} is running`);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const stderrTail: string[] = [];
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderrTail.push(chunk);
      if (stderrTail.length > STDERR_TAIL_CHUNKS) stderrTail.shift();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    this.#procs.set(id, { child, exited, stderrTail });
    void exited.then(() => {
      if (this.#procs.get(id)?.child === child) this.#procs.delete(id);
    });
    let stdout = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.label} ${id} did not start within 15 s: ${stderrTail.join('')}`)), START_TIMEOUT_MS);
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        // Only the tail is kept: enough to see the marker even when it straddles two chunks.
        stdout = (stdout + chunk).slice(-STDOUT_TAIL_CHARS);
        if (stdout.includes('"event":"listening"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${this.label} ${id} exited with ${code} while starting: ${stderrTail.join('')}`));
      });
    });
  }

  /** kill -9 (or another signal) and wait for the exit (at most 10 s). */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.#procs.get(id);
    if (!proc) return;
    proc.child.kill(signal);
    await Promise.race([proc.exited, new Promise((r) => setTimeout(r, KILL_TIMEOUT_MS))]);
    this.#procs.delete(id);
  }

  /** The last stderr output of a running node ('' when it is not running). */
  stderr(id: number): string {
    return this.#procs.get(id)?.stderrTail.join('') ?? '';
  }
}
