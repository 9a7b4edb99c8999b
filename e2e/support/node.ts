// Spawns the real `tributary` daemon as a child process on a free port with its own data dir.
// Logs are kept in memory (bounded) so a failing test can print them.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const serverBin = join(repoRoot, 'packages/server/bin/tributary.js');
export const tribBin = join(repoRoot, 'packages/cli/bin/trib.js');

const logLinesMax = 5000;
const startTimeoutMs = 60_000;

export async function freePort(): Promise<number> {
  return await new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      server.close(() => resolvePort(address.port));
    });
  });
}

export interface NodeOptions {
  /** Extra `--override key=value` settings (server.properties keys). */
  overrides?: Record<string, string>;
  /** Extra environment (e.g. KAFKA_* variables). */
  env?: Record<string, string>;
  /** Reuse a data dir (e.g. from a previous node); a fresh temp dir otherwise. */
  dataDir?: string;
  port?: number;
  /** A server.properties file passed with `--config`. */
  configFile?: string;
}

export class TributaryNode {
  readonly host = '127.0.0.1';
  readonly port: number;
  readonly dataDir: string;
  readonly options: NodeOptions;
  readonly logs: string[] = [];
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private ownsDataDir: boolean;
  starts = 0;

  private constructor(port: number, dataDir: string, ownsDataDir: boolean, options: NodeOptions) {
    this.port = port;
    this.dataDir = dataDir;
    this.ownsDataDir = ownsDataDir;
    this.options = options;
  }

  static async start(options: NodeOptions = {}): Promise<TributaryNode> {
    const port = options.port ?? (await freePort());
    const ownsDataDir = options.dataDir === undefined;
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'trib-e2e-'));
    mkdirSync(dataDir, { recursive: true });
    const node = new TributaryNode(port, dataDir, ownsDataDir, options);
    await node.spawn();
    return node;
  }

  get bootstrap(): string {
    return `${this.host}:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  private log(line: string): void {
    this.logs.push(line);
    if (this.logs.length > logLinesMax) this.logs.splice(0, this.logs.length - logLinesMax);
  }

  private async spawn(): Promise<void> {
    if (this.running) throw new Error('node already running');
    this.starts += 1;
    const overrides: Record<string, string> = {
      listeners: `PLAINTEXT://${this.host}:${this.port}`,
      'advertised.listeners': `PLAINTEXT://${this.host}:${this.port}`,
      'log.dirs': this.dataDir,
      ...this.options.overrides,
    };
    const args = [serverBin];
    if (this.options.configFile !== undefined) args.push('--config', this.options.configFile);
    for (const [key, value] of Object.entries(overrides)) args.push('--override', `${key}=${value}`);
    this.log(`### start #${this.starts}: node ${args.join(' ')}`);
    const child = spawn(process.execPath, args, {
      cwd: this.dataDir,
      env: { ...process.env, ...this.options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolveExit) => child.once('exit', (code, signal) => {
      this.log(`### exited code=${code} signal=${signal}`);
      resolveExit();
    }));
    await new Promise<void>((resolveStart, reject) => {
      let settled = false;
      const timer = setTimeout(() => finish(new Error(`node did not print "node started" within ${startTimeoutMs} ms`)), startTimeoutMs);
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) {
          this.printLogs(error.message);
          reject(error);
        } else resolveStart();
      };
      const onData = (stream: string) => {
        let pending = '';
        return (chunk: Buffer) => {
          pending += chunk.toString('utf8');
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) {
            this.log(stream === 'stderr' ? `[stderr] ${line}` : line);
            if (line.includes('"msg":"node started"')) finish();
          }
        };
      };
      child.stdout?.on('data', onData('stdout'));
      child.stderr?.on('data', onData('stderr'));
      child.once('exit', (code, signal) => finish(new Error(`node exited before starting (code=${code} signal=${signal})`)));
      child.once('error', (error) => finish(error));
    });
  }

  /** Kills the process (SIGKILL by default) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    this.child?.kill(signal);
    this.paused = false;
    await this.exited;
  }

  /** Freezes the process (SIGSTOP) until resume(): a paused node, as a long GC pause or a hung VM would be. */
  pause(): void {
    if (!this.running) return;
    this.child?.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (!this.running) return;
    this.child?.kill('SIGCONT');
    this.paused = false;
  }

  /** Frozen by pause(): it accepts connections (the kernel does) but answers nothing. */
  paused = false;

  /** Graceful stop: SIGTERM, then SIGKILL after a grace period. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Starts the daemon again on the same port and data dir. */
  async restart(): Promise<void> {
    await this.kill();
    await this.spawn();
  }

  printLogs(reason = 'test failed', lines = 200): void {
    const tail = this.logs.slice(-lines).join('\n');
    process.stderr.write(`\n----- tributary node ${this.bootstrap} (${reason}), last ${lines} log lines, data ${this.dataDir} -----\n${tail}\n-----\n`);
  }

  /** Stops the node and removes its data dir (kept when TRIB_KEEP_DATA is set). */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.ownsDataDir && process.env.TRIB_KEEP_DATA === undefined) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * Nodes 1..count, each broker and controller (a combined cluster) on loopback: clients on one free port per node,
 * the quorum on another. `overrides` (for every node) come last, so a test may change any of these keys.
 */
export async function startCombinedNodes(count: number, overrides: Record<string, string> = {}): Promise<TributaryNode[]> {
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const clientPorts: number[] = [];
  const controllerPorts: number[] = [];
  for (const _ of ids) {
    clientPorts.push(await freePort());
    controllerPorts.push(await freePort());
  }
  const voters = ids.map((id) => `${id}@127.0.0.1:${controllerPorts[id - 1]}`).join(',');
  return Promise.all(
    ids.map((id) =>
      TributaryNode.start({
        port: clientPorts[id - 1],
        overrides: {
          'node.id': String(id),
          'process.roles': 'broker,controller',
          listeners: `PLAINTEXT://127.0.0.1:${clientPorts[id - 1]},CONTROLLER://127.0.0.1:${controllerPorts[id - 1]}`,
          'advertised.listeners': `PLAINTEXT://127.0.0.1:${clientPorts[id - 1]}`,
          'controller.listener.names': 'CONTROLLER',
          'controller.quorum.voters': voters,
          ...overrides,
        },
      }),
    ),
  );
}

/**
 * `controllerCount` controller-only nodes (ids 1..controllerCount, the quorum) and one broker-only node per entry of
 * `brokers` (its id, and overrides of its own such as `broker.rack`) on loopback. `overrides` go to every node, after
 * the listener settings and before a broker's own.
 */
export async function startSplitCluster(
  controllerCount: number,
  brokers: readonly { id: number; overrides?: Record<string, string> }[],
  overrides: Record<string, string> = {},
): Promise<{ controllers: TributaryNode[]; brokers: TributaryNode[] }> {
  const controllerPorts: number[] = [];
  for (let i = 0; i < controllerCount; i++) controllerPorts.push(await freePort());
  const common = {
    'controller.quorum.voters': controllerPorts.map((p, i) => `${i + 1}@127.0.0.1:${p}`).join(','),
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    ...overrides,
  };
  const started = await Promise.all([
    ...controllerPorts.map((port, i) =>
      TributaryNode.start({ port, overrides: { ...common, 'node.id': String(i + 1), 'process.roles': 'controller', listeners: `CONTROLLER://127.0.0.1:${port}`, 'advertised.listeners': '' } }),
    ),
    ...brokers.map((b) => TributaryNode.start({ overrides: { ...common, 'node.id': String(b.id), 'process.roles': 'broker', ...b.overrides } })),
  ]);
  return { controllers: started.slice(0, controllerCount), brokers: started.slice(controllerCount) };
}
