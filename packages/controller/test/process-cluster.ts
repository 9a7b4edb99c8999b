/**
 * A controller quorum of real `main.ts` processes on loopback (free ports, a temp data dir per node) for the tests
 * and the benchmark. Every wait is bounded.
 */
import { decodeSnapshot, type MetadataImage } from '@tributary/metadata';
import { loopbackVoters, NodeProcesses, startAll, waitFor } from '@tributary/quorum/test-support';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControllerStatus } from '../src/api.ts';
import { ControllerClient, type ControllerClientOptions } from '../src/client.ts';
import type { ConfigDefs } from '../src/config-schema.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface ControllerClusterOptions {
  size?: number;
  sessionTimeoutMs?: number;
  snapshotInterval?: number;
  configDefs?: ConfigDefs;
  logLevel?: string;
  verifyImages?: boolean;
}

export class ControllerCluster {
  readonly dir: string;
  readonly addresses: Map<number, string>;
  readonly options: ControllerClusterOptions;
  /** For the test's own admin calls and describes. */
  readonly client: ControllerClient;
  readonly #procs = new NodeProcesses('controller');
  readonly #clients: ControllerClient[] = [];

  private constructor(dir: string, addresses: Map<number, string>, options: ControllerClusterOptions) {
    this.dir = dir;
    this.addresses = addresses;
    this.options = options;
    this.client = this.newClient({ clientId: 'test-admin' });
  }

  static async start(options: ControllerClusterOptions = {}): Promise<ControllerCluster> {
    const addresses = await loopbackVoters(options.size ?? 3);
    const cluster = new ControllerCluster(mkdtempSync(join(tmpdir(), 'trib-controller-')), addresses, options);
    if (options.configDefs) writeFileSync(join(cluster.dir, 'config-defs.json'), JSON.stringify(options.configDefs));
    return startAll(cluster);
  }

  get ids(): number[] {
    return [...this.addresses.keys()];
  }

  get votersText(): string {
    return [...this.addresses].map(([i, a]) => `${i}@${a}`).join(',');
  }

  /** A client of its own (a broker's, say); closed with the cluster. */
  newClient(opts: Partial<ControllerClientOptions> = {}): ControllerClient {
    const c = new ControllerClient({ voters: this.addresses, requestTimeoutMs: 15_000, ...opts });
    this.#clients.push(c);
    return c;
  }

  isRunning(id: number): boolean {
    return this.#procs.isRunning(id);
  }

  async startNode(id: number): Promise<void> {
    const o = this.options;
    const args = [MAIN, '--node-id', String(id), '--voters', this.votersText, '--data-dir', join(this.dir, `node-${id}`), '--listen', this.addresses.get(id)!, '--log-level', o.logLevel ?? 'warn'];
    if (o.sessionTimeoutMs) args.push('--session-timeout-ms', String(o.sessionTimeoutMs));
    if (o.snapshotInterval !== undefined) args.push('--snapshot-interval', String(o.snapshotInterval));
    if (o.configDefs) args.push('--config-defs', join(this.dir, 'config-defs.json'));
    if (o.verifyImages ?? true) args.push('--verify-images');
    await this.#procs.start(id, args);
  }

  /** kill -9 (or another signal) and wait for the exit. */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.#procs.kill(id, signal);
  }

  stderr(id: number): string {
    return this.#procs.stderr(id);
  }

  async describe(id: number, includeImage = false): Promise<ControllerStatus | null> {
    return this.client.describe(id, includeImage, { timeoutMs: 1000 }).catch(() => null);
  }

  async image(id: number): Promise<{ image: MetadataImage; appliedOffset: number }> {
    const s = await this.client.describe(id, true, { timeoutMs: 5000 });
    return { image: decodeSnapshot(s.image!), appliedOffset: s.appliedOffset };
  }

  /** The active controller every running node agrees on, within `timeoutMs`. */
  async waitForActive(timeoutMs = 10_000, exclude: number[] = [], intervalMs = 20): Promise<number> {
    return waitFor(
      'an active controller',
      timeoutMs,
      async () => {
        const all = (await Promise.all(this.ids.filter((id) => this.isRunning(id)).map((id) => this.describe(id)))).filter((s): s is ControllerStatus => s !== null);
        const active = all.filter((s) => s.active && !exclude.includes(s.nodeId));
        if (active.length !== 1) return null;
        const a = active[0]!;
        return all.every((s) => s.nodeId === a.nodeId || (s.epoch === a.epoch && s.leaderId === a.nodeId)) ? a.nodeId : null;
      },
      intervalMs,
    );
  }

  async close(): Promise<void> {
    for (const c of this.#clients) c.close();
    await Promise.all(this.ids.map((id) => this.kill(id)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
