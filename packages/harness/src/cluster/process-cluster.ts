/**
 * A cluster of local `tributary` processes the nemesis can hurt: kill -9, graceful stop, SIGSTOP/SIGCONT,
 * restart, and partitions between sets of nodes (see firewall.ts).
 *
 * Nodes are named as the nemesis schedule names them: `c1..cN` controllers (node ids 1..N) and `b1..bM`
 * brokers (ids N+1..N+M). Every port is fixed at start (client, controller, and the replication listener,
 * which is ephemeral unless set) so partition rules can name them and restarts reuse them. Each node has its
 * own folder: data/ (log.dirs), stdout.log and stderr.log.
 *
 * Optional, for the nemesis: latency/loss/reorder of chosen nodes' packets (netem.ts) and a small disk per node that
 * can be filled or made read-only (disks.ts).
 *
 * Teardown always happens: `destroy()` in a finally, and an exit/SIGINT/SIGTERM hook that kills every node
 * with -9 and removes the iptables chains and the disks synchronously if the run dies first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { NodeDisks } from './disks.ts';
import type { FaultCluster } from './fault-cluster.ts';
import { Firewall, checkIptables } from './firewall.ts';
import { defaultPython } from '../workload/producer.ts';
import { Netem, type NetemParams } from './netem.ts';

export const serverBin = resolve(import.meta.dirname, '../../../server/bin/tributary.js');

/** Group ids the nodes run under (node id added): unused by the system, distinct from the harness' own. */
export const NODE_GID_BASE = 47_000;
const startTimeoutMs = 60_000;
const stopGraceMs = 10_000;
const portAttemptsMax = 1000;

export interface ProcessClusterOptions {
  readonly controllers: number;
  readonly brokers: number;
  /** The cluster folder: one sub-folder per node. */
  readonly dir: string;
  /** Extra `--override key=value` for every node, after the harness' own (so they win). */
  readonly overrides?: Readonly<Record<string, string>>;
  /** Set up the iptables chain (needs root). Default true. */
  readonly partitions?: boolean;
  /** Latency/loss/reorder faults (needs root, iptables, python3 for the delayer). Default false. */
  readonly netem?: boolean;
  /** The python the packet delayer runs on (default /usr/bin/python3 or TRIB_PYTHON). */
  readonly python?: string;
  /** Seeds the delayer's jitter and reordering draws. */
  readonly seed?: number;
  /** A tmpfs disk per node of this many bytes (needs root), for disk-full/disk-readonly. Default: none. */
  readonly diskBytes?: number;
  /**
   * Run every node on the storage's LazyFileSystem (TRIB_FAULT_FS=lazy): unsynced writes live in the node's memory,
   * so `powerLoss` (kill -9) drops them as a power cut would. Default false.
   */
  readonly lazyFs?: boolean;
  readonly host?: string;
}

export type NodeState = 'stopped' | 'running' | 'paused';

export interface NodeInfo {
  readonly name: string;
  readonly id: number;
  readonly roles: readonly ('controller' | 'broker')[];
  readonly clientPort: number | null;
  readonly controllerPort: number | null;
  readonly replicationPort: number | null;
  readonly gid: number;
  readonly dir: string;
  readonly dataDir: string;
  /** The node's own disk (a mount point holding dataDir) when the cluster has disks, else null. */
  readonly diskDir: string | null;
  readonly stdoutPath: string;
  readonly stderrPath: string;
  readonly args: readonly string[];
}

export async function freePort(host = '127.0.0.1', avoid: ReadonlySet<number> = new Set()): Promise<number> {
  for (let attempt = 0; attempt < portAttemptsMax; attempt++) {
    const port = await new Promise<number>((resolvePort, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, host, () => {
        const address = server.address();
        if (address === null || typeof address === 'string') return reject(new Error('no port'));
        server.close(() => resolvePort(address.port));
      });
    });
    if (!avoid.has(port)) return port;
  }
  throw new Error(`no free port on ${host} after ${portAttemptsMax} attempts`);
}

/** Checks the cluster shape before anything starts. */
export function validateClusterShape(controllers: number, brokers: number): string[] {
  const problems: string[] = [];
  if (!Number.isSafeInteger(controllers) || controllers < 1 || controllers > 9) problems.push(`controllers must be an integer in 1..9 (a quorum needs at least one voter), got ${String(controllers)}`);
  if (!Number.isSafeInteger(brokers) || brokers < 1 || brokers > 64) problems.push(`brokers must be an integer in 1..64, got ${String(brokers)}`);
  return problems;
}

/** Node names, ids, roles, ports and argv: pure given the ports. */
export function planNodes(o: { controllers: number; brokers: number; dir: string; host: string; overrides: Readonly<Record<string, string>>; clusterId?: string; disks?: boolean }, ports: readonly number[]): NodeInfo[] {
  const problems = validateClusterShape(o.controllers, o.brokers);
  if (problems.length > 0) throw new Error(`cannot plan the cluster: ${problems.join('; ')}`);
  const needed = o.controllers + 2 * o.brokers;
  if (ports.length < needed) throw new Error(`planNodes needs ${needed} ports, got ${ports.length}`);
  let next = 0;
  const take = (): number => ports[next++]!;
  const shapes = [
    ...Array.from({ length: o.controllers }, (_, i) => ({ name: `c${i + 1}`, id: i + 1, controller: true })),
    ...Array.from({ length: o.brokers }, (_, i) => ({ name: `b${i + 1}`, id: o.controllers + i + 1, controller: false })),
  ].map((s) => ({ ...s, controllerPort: s.controller ? take() : null, clientPort: s.controller ? null : take(), replicationPort: s.controller ? null : take() }));
  const voters = shapes.filter((s) => s.controller).map((s) => `${s.id}@${o.host}:${s.controllerPort}`).join(',');
  const replicationFactor = Math.min(3, o.brokers);
  return shapes.map((s): NodeInfo => {
    const dir = join(o.dir, s.name);
    // With disks, the data folder sits one level down the mount point, so the disk's filler is not in log.dirs.
    const diskDir = o.disks === true ? join(dir, 'disk') : null;
    const dataDir = diskDir !== null ? join(diskDir, 'data') : join(dir, 'data');
    const keys: Record<string, string> = {
      'node.id': String(s.id),
      'process.roles': s.controller ? 'controller' : 'broker',
      listeners: s.controller ? `CONTROLLER://${o.host}:${s.controllerPort}` : `PLAINTEXT://${o.host}:${s.clientPort}`,
      ...(s.controller ? {} : { 'advertised.listeners': `PLAINTEXT://${o.host}:${s.clientPort}`, 'replication.listener': `${o.host}:${s.replicationPort}` }),
      'controller.listener.names': 'CONTROLLER',
      'controller.quorum.voters': voters,
      'log.dirs': dataDir,
      // One id for every node: a node left to pick its own would refuse to join the others.
      ...(o.clusterId !== undefined ? { 'cluster.id': o.clusterId } : {}),
      // Fence a silent broker within seconds, so faults end in failovers rather than long stalls.
      'broker.session.timeout.ms': '3000',
      'broker.heartbeat.interval.ms': '500',
      'replica.lag.time.max.ms': '3000',
      'offsets.topic.replication.factor': String(replicationFactor),
      'offsets.topic.num.partitions': '3',
      ...o.overrides,
    };
    const args = Object.entries(keys).flatMap(([k, v]) => ['--override', `${k}=${v}`]);
    return {
      name: s.name,
      id: s.id,
      roles: s.controller ? ['controller'] : ['broker'],
      clientPort: s.clientPort,
      controllerPort: s.controllerPort,
      replicationPort: s.replicationPort,
      gid: NODE_GID_BASE + s.id,
      dir,
      dataDir,
      diskDir,
      stdoutPath: join(dir, 'stdout.log'),
      stderrPath: join(dir, 'stderr.log'),
      args,
    };
  });
}

class ProcessNode {
  readonly info: NodeInfo;
  state: NodeState = 'stopped';
  starts = 0;
  child: ChildProcess | null = null;
  exited: Promise<void> = Promise.resolve();
  #out: WriteStream | null = null;
  #err: WriteStream | null = null;

  readonly #env: NodeJS.ProcessEnv;

  constructor(info: NodeInfo, env: NodeJS.ProcessEnv) {
    this.info = info;
    this.#env = env;
  }

  async start(): Promise<void> {
    if (this.child !== null) throw new Error(`node ${this.info.name} is already running (pid ${this.child.pid})`);
    this.starts += 1;
    mkdirSync(this.info.dataDir, { recursive: true });
    this.#out = createWriteStream(this.info.stdoutPath, { flags: 'a' });
    this.#err = createWriteStream(this.info.stderrPath, { flags: 'a' });
    this.#out.write(`### start #${this.starts} at ${new Date().toISOString()}: node ${serverBin} ${this.info.args.join(' ')}\n`);
    const child = spawn(process.execPath, [serverBin, ...this.info.args], {
      cwd: this.info.dir,
      env: this.#env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // The node's own group: partition rules match it (firewall.ts). Needs root, as iptables does.
      ...(process.getuid?.() === 0 ? { gid: this.info.gid } : {}),
    });
    this.child = child;
    this.state = 'running';
    const out = this.#out;
    const err = this.#err;
    this.exited = new Promise((resolveExit) =>
      child.once('exit', (code, signal) => {
        out.write(`### exited code=${code} signal=${signal} at ${new Date().toISOString()}\n`);
        out.end();
        err.end();
        if (this.child === child) {
          this.child = null;
          this.state = 'stopped';
        }
        resolveExit();
      }),
    );
    child.stderr?.pipe(err, { end: false });
    await new Promise<void>((resolveStart, reject) => {
      let settled = false;
      let pending = '';
      const timer = setTimeout(() => finish(new Error(`node ${this.info.name} did not print "node started" within ${startTimeoutMs} ms; see ${this.info.stdoutPath}`)), startTimeoutMs);
      const finish = (error?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolveStart();
      };
      child.stdout?.on('data', (chunk: Buffer) => {
        out.write(chunk);
        if (settled) return;
        pending += chunk.toString('utf8');
        if (pending.includes('"msg":"node started"')) finish();
        // Only the tail can hold a line cut in two: keep the buffer bounded.
        if (pending.length > 65_536) pending = pending.slice(-4096);
      });
      child.once('exit', (code, signal) => finish(new Error(`node ${this.info.name} exited before starting (code=${code} signal=${signal}); see ${this.info.stderrPath}`)));
      child.once('error', (error) => finish(error));
    });
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    // A paused process cannot act on SIGTERM: let it run first.
    if (this.state === 'paused') child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
    await this.exited;
    clearTimeout(timer);
  }

  pause(): void {
    if (this.child === null || this.state !== 'running') return;
    this.child.kill('SIGSTOP');
    this.state = 'paused';
  }

  resume(): void {
    if (this.child === null || this.state !== 'paused') return;
    this.child.kill('SIGCONT');
    this.state = 'running';
  }

  /** For exit handlers: no waiting. */
  killSync(): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  tail(lines: number): string {
    const read = (path: string): string => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return '';
      }
    };
    const all = `${read(this.info.stdoutPath)}${read(this.info.stderrPath)}`.split('\n');
    return all.slice(-lines).join('\n');
  }
}

const liveClusters = new Set<ProcessCluster>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const teardownAll = (): void => {
    for (const c of liveClusters) c.destroySync();
  };
  process.on('exit', teardownAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      teardownAll();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

export class ProcessCluster implements FaultCluster {
  readonly nodes: readonly NodeInfo[];
  readonly host: string;
  readonly #nodes: Map<string, ProcessNode>;
  readonly #firewall: Firewall | null;
  readonly #netem: Netem | null;
  readonly #disks: NodeDisks | null;
  #destroyed = false;

  readonly lazyFs: boolean;

  private constructor(nodes: NodeInfo[], host: string, firewall: Firewall | null, netem: Netem | null, disks: NodeDisks | null, lazyFs: boolean) {
    this.nodes = nodes;
    this.host = host;
    this.lazyFs = lazyFs;
    const env = lazyFs ? { ...process.env, TRIB_FAULT_FS: 'lazy' } : process.env;
    this.#nodes = new Map(nodes.map((n) => [n.name, new ProcessNode(n, env)]));
    this.#firewall = firewall;
    this.#netem = netem;
    this.#disks = disks;
  }

  /** Plans, then starts every node (controllers first) and waits until each printed "node started". */
  static async start(options: ProcessClusterOptions): Promise<ProcessCluster> {
    const host = options.host ?? '127.0.0.1';
    const problems = validateClusterShape(options.controllers, options.brokers);
    if (problems.length > 0) throw new Error(`invalid cluster: ${problems.join('; ')}`);
    const wantFirewall = options.partitions ?? true;
    if (wantFirewall) checkIptables();
    const ports: number[] = [];
    const used = new Set<number>();
    for (let i = 0; i < options.controllers + 2 * options.brokers; i++) {
      const port = await freePort(host, used);
      used.add(port);
      ports.push(port);
    }
    const wantDisks = options.diskBytes !== undefined;
    const nodes = planNodes({ controllers: options.controllers, brokers: options.brokers, dir: resolve(options.dir), host, overrides: options.overrides ?? {}, clusterId: randomBytes(16).toString('base64url'), disks: wantDisks }, ports);
    const firewall = wantFirewall
      ? new Firewall(
          nodes.map((n) => ({ name: n.name, gid: n.gid, clientPort: n.clientPort, ports: [n.clientPort, n.controllerPort, n.replicationPort].filter((p): p is number => p !== null) })),
          process.getgid?.() ?? 0,
        )
      : null;
    const netem = options.netem === true ? new Netem({ python: options.python ?? defaultPython, seed: options.seed ?? 1 }) : null;
    const disks = wantDisks ? new NodeDisks(nodes.map((n) => ({ name: n.name, diskDir: n.diskDir! })), options.diskBytes) : null;
    const cluster = new ProcessCluster(nodes, host, firewall, netem, disks, options.lazyFs === true);
    installExitHooks();
    liveClusters.add(cluster);
    try {
      firewall?.install();
      netem?.install();
      disks?.mountAll();
      // Controllers first: brokers register with the quorum as they start.
      await Promise.all(nodes.filter((n) => n.roles.includes('controller')).map((n) => cluster.#node(n.name).start()));
      await Promise.all(nodes.filter((n) => !n.roles.includes('controller')).map((n) => cluster.#node(n.name).start()));
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  #node(name: string): ProcessNode {
    const node = this.#nodes.get(name);
    if (node === undefined) throw new Error(`no node "${name}" in this cluster; it has ${[...this.#nodes.keys()].join(', ')}`);
    return node;
  }

  get names(): string[] {
    return [...this.#nodes.keys()];
  }

  get brokerNames(): string[] {
    return this.nodes.filter((n) => n.roles.includes('broker')).map((n) => n.name);
  }

  /** `host:port,...` of every broker. */
  get bootstrap(): string {
    return this.nodes.filter((n) => n.clientPort !== null).map((n) => `${this.host}:${n.clientPort}`).join(',');
  }

  state(name: string): NodeState {
    return this.#node(name).state;
  }

  /** The node's process id while it runs. */
  pid(name: string): number | null {
    return this.#node(name).child?.pid ?? null;
  }

  info(name: string): NodeInfo {
    return this.#node(name).info;
  }

  /** kill -9. */
  async kill(names: readonly string[]): Promise<void> {
    await Promise.all(names.map((n) => this.#node(n).kill()));
  }

  /**
   * Power cut: kill -9 on nodes running on the LazyFileSystem, so what they wrote and did not fsync is gone;
   * `restart` is power on.
   */
  async powerLoss(names: readonly string[]): Promise<void> {
    if (!this.lazyFs) throw new Error('this cluster was started without lazyFs; start it with lazyFs: true so that kill -9 drops unsynced writes (a plain kill keeps them: the OS page cache survives)');
    await this.kill(names);
  }

  /** SIGTERM, then -9 after a grace period. */
  async stop(names: readonly string[]): Promise<void> {
    await Promise.all(names.map((n) => this.#node(n).stop()));
  }

  pause(names: readonly string[]): void {
    for (const n of names) this.#node(n).pause();
  }

  resume(names: readonly string[]): void {
    for (const n of names) this.#node(n).resume();
  }

  /** Starts stopped nodes again on the same ports and data; running ones are left alone. */
  async restart(names: readonly string[]): Promise<void> {
    await Promise.all(names.map(async (n) => {
      const node = this.#node(n);
      if (node.child === null) await node.start();
    }));
  }

  /** Cuts side A off from side B (both ways unless oneWay). `client` names the harness' own clients. */
  partition(a: readonly string[], b: readonly string[], oneWay = false): void {
    if (this.#firewall === null) throw new Error('this cluster was started with partitions: false; start it with partitions: true (needs root and iptables) to partition it');
    for (const name of [...a, ...b]) if (name !== 'client') this.#node(name);
    this.#firewall.partition([a, b], oneWay);
  }

  heal(): void {
    this.#firewall?.heal();
  }

  /** Delays, drops or reorders the named nodes' outgoing packets (netem.ts), replacing any netem fault in place. */
  async netem(names: readonly string[], params: NetemParams): Promise<void> {
    if (this.#netem === null) throw new Error('this cluster was started without netem; start it with netem: true (needs root, iptables and python3) to delay, drop or reorder packets');
    await this.#netem.apply(names.map((n) => this.#node(n).info.gid), params);
  }

  async netemHeal(): Promise<void> {
    await this.#netem?.heal();
  }

  /** The netem rules in place (`iptables -S` lines). */
  netemRules(): string[] {
    return this.#netem?.rules() ?? [];
  }

  #requireDisks(): NodeDisks {
    if (this.#disks === null) throw new Error('this cluster was started without disks of its own; start it with diskBytes (needs root) to fill disks or make them read-only');
    return this.#disks;
  }

  /** Fills the named nodes' disks until ENOSPC; returns the bytes the filler took per node. */
  diskFull(names: readonly string[]): Record<string, number> {
    const disks = this.#requireDisks();
    for (const n of names) this.#node(n);
    return Object.fromEntries(names.map((n) => [n, disks.fill(n)]));
  }

  diskReadonly(names: readonly string[]): void {
    const disks = this.#requireDisks();
    for (const n of names) this.#node(n);
    for (const n of names) disks.makeReadonly(n);
  }

  /** Frees and makes writable the named disks (every disk when no names). */
  diskHeal(names?: readonly string[]): void {
    if (this.#disks === null) return;
    if (names === undefined) this.#disks.healAll();
    else for (const n of names) this.#disks.heal(n);
  }

  /** The disk mounts of this cluster still in place. */
  diskMounts(): string[] {
    return this.#disks?.mountedTargets() ?? [];
  }

  diskUsedBytes(name: string): number {
    return this.#requireDisks().usedBytes(name);
  }

  /** Every node back: partitions, netem and disks healed, paused nodes resumed, stopped nodes restarted. */
  async healAll(): Promise<void> {
    this.heal();
    await this.netemHeal();
    this.diskHeal();
    this.resume(this.names);
    await this.restart(this.names);
  }

  /** The last lines of each node's logs, for a failure report. */
  logTails(lines = 100): Record<string, string> {
    return Object.fromEntries([...this.#nodes].map(([name, node]) => [name, node.tail(lines)]));
  }

  /**
   * Stops every node (gracefully, -9 after a grace period), removes the iptables chains and unmounts the disks.
   * `saveData`: copy each node's data off its disk first (to `<node>/data-saved/`), as the disks live in RAM.
   * Idempotent.
   */
  async destroy(o: { saveData?: boolean } = {}): Promise<void> {
    if (this.#destroyed) return;
    try {
      this.#firewall?.dispose();
      this.#netem?.dispose();
      // A full or read-only disk would fail the nodes' shutdown writes.
      try {
        this.#disks?.healAll();
      } catch {
        // unmounted below whatever state it is in
      }
      await Promise.all([...this.#nodes.values()].map((n) => n.stop()));
      if (o.saveData === true && this.#disks !== null) for (const n of this.nodes) this.#disks.save(n.name, join(n.dir, 'data-saved'));
    } finally {
      this.destroySync();
    }
  }

  /** For exit and signal handlers: -9 to every node, rules removed, disks unmounted, synchronously. */
  destroySync(): void {
    this.#destroyed = true;
    liveClusters.delete(this);
    this.#firewall?.dispose();
    this.#netem?.dispose();
    for (const node of this.#nodes.values()) node.killSync();
    this.#disks?.disposeSync();
  }
}
