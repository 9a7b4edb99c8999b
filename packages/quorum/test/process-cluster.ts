/**
 * A quorum of real `main.ts` processes on loopback (free ports, a temp data dir per node) for tests, the failover
 * measurement and the benchmark. Every wait is bounded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QuorumClient, type NodeDescription } from '../src/client.ts';
import { loopbackVoters, NodeProcesses, startAll, waitFor } from './support.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface ProcessClusterOptions {
  size?: number;
  snapshotInterval?: number;
  tickMs?: number;
  logLevel?: string;
  clusterId?: string;
}

export class ProcessCluster {
  readonly dir: string;
  readonly addresses: Map<number, string>;
  readonly client: QuorumClient;
  readonly options: ProcessClusterOptions;
  readonly #procs = new NodeProcesses('node');

  private constructor(dir: string, addresses: Map<number, string>, options: ProcessClusterOptions) {
    this.dir = dir;
    this.addresses = addresses;
    this.options = options;
    this.client = new QuorumClient(addresses);
  }

  static async start(options: ProcessClusterOptions = {}): Promise<ProcessCluster> {
    const addresses = await loopbackVoters(options.size ?? 3);
    return startAll(new ProcessCluster(mkdtempSync(join(tmpdir(), 'trib-quorum-')), addresses, options));
  }

  get ids(): number[] {
    return [...this.addresses.keys()];
  }

  dataDir(id: number): string {
    return join(this.dir, `node-${id}`);
  }

  isRunning(id: number): boolean {
    return this.#procs.isRunning(id);
  }

  async startNode(id: number): Promise<void> {
    const voters = [...this.addresses].map(([i, a]) => `${i}@${a}`).join(',');
    const args = [MAIN, '--node-id', String(id), '--voters', voters, '--data-dir', this.dataDir(id), '--listen', this.addresses.get(id)!, '--log-level', this.options.logLevel ?? 'warn'];
    if (this.options.snapshotInterval) args.push('--snapshot-interval', String(this.options.snapshotInterval));
    if (this.options.tickMs) args.push('--tick-ms', String(this.options.tickMs));
    if (this.options.clusterId) args.push('--cluster-id', this.options.clusterId);
    await this.#procs.start(id, args);
  }

  /** kill -9 (or another signal) and wait for the exit. */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.#procs.kill(id, signal);
  }

  stderr(id: number): string {
    return this.#procs.stderr(id);
  }

  async describeAll(): Promise<Map<number, NodeDescription>> {
    const out = new Map<number, NodeDescription>();
    await Promise.all(
      this.ids.filter((id) => this.isRunning(id)).map(async (id) => {
        const d = await this.client.describe(id, 1000).catch(() => null);
        if (d) out.set(id, d);
      }),
    );
    return out;
  }

  /** The leader every running node agrees on (same epoch), within `timeoutMs`. */
  async waitForLeader(timeoutMs = 10_000, exclude: number[] = []): Promise<number> {
    return waitFor('a leader', timeoutMs, async () => {
      const all = await this.describeAll();
      const leaders = [...all.values()].filter((d) => d.role === 'leader' && !exclude.includes(d.nodeId));
      if (leaders.length !== 1) return null;
      const leader = leaders[0]!;
      const agree = [...all.values()].every((d) => d.nodeId === leader.nodeId || (d.epoch === leader.epoch && d.leaderId === leader.nodeId));
      return agree ? leader.nodeId : null;
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.kill(id)));
    this.client.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
