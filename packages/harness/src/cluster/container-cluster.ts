/**
 * A cluster of Tributary containers the nemesis can hurt, the way ProcessCluster hurts processes: kill
 * (`docker kill`, SIGKILL), graceful stop (`docker stop`), pause/resume (the cgroup freezer: `docker pause`),
 * restart (`docker start`: same container, same volume), and network partitions between any two sets of nodes,
 * or between the harness' clients and nodes, one-way or both ways.
 *
 * Layout: `c1..cN` controller-only nodes (ids 1..N) and `b1..bM` brokers (ids N+1..), each a container on a
 * user-defined network of its own, with its node name as hostname and a named volume for its data. The
 * environment is the one deploy/compose/three-controllers-three-brokers.yml gives (KAFKA_* variables), plus fast
 * failure detection. A broker's EXTERNAL listener listens on a free host port and is published on 127.0.0.1 at
 * that same port, so the address it advertises is the one clients on the host dial.
 *
 * Partitions: the image has no shell and no iptables, so rules go into each container's network namespace from
 * the host: `nsenter -t <container pid> -n iptables ...`. Every rule lives in a chain of ours (`TRIBCHAOS`)
 * jumped to from INPUT and OUTPUT of that namespace only; the host's rules are never touched. "x cannot reach
 * y" drops, in x's namespace, packets to y's address and, in y's namespace, packets from x's address (both, so
 * either one still holds while the other's container restarts). The clients run on the host and reach brokers
 * through the published ports, i.e. from the network's gateway address: that address stands for `client`.
 * A restarted container gets a new namespace (and possibly a new address): every active partition is applied
 * again after each restart. Heal flushes the chains; teardown removes the rules, then the containers, volumes
 * and network, from `destroy()` or, if the run dies first, from exit and signal hooks (synchronously).
 *
 * Opt-in, the same faults a ProcessCluster has:
 *  - netem (latency/loss/reorder): netem.ts' rules on everything the container sends on its eth0, in the mangle
 *    table of its namespace (chain `TRIBNETEM`); delay and reorder go through NFQUEUE to a python delayer started
 *    in that namespace (`nsenter -t <pid> -n python3 nfq_delay.py`: a queue belongs to one namespace, so one
 *    delayer per faulted container). Applied again after a restart (a new namespace); heal flushes and releases.
 *  - disks: a host tmpfs per node (disks.ts) bind-mounted as /var/lib/tributary instead of the named volume (it
 *    survives restarts, a docker tmpfs mount would not), owned by the image's user; log.dirs is its `data/`.
 *    Full: the host fills it to ENOSPC. Read-only: the superblock cannot go read-only while the broker holds files
 *    open for writing (EBUSY), so, as for processes, a read-only bind mount is stacked on /var/lib/tributary inside
 *    the container's mount namespace (`nsenter -t <pid> -m mount ...`, the image's own mount); again after a restart.
 *  - power loss: TRIB_FAULT_FS=lazy (the storage's LazyFileSystem keeps unsynced writes in memory), then docker kill.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DISK_BYTES_DEFAULT, diskMountArgs, NodeDisks } from './disks.ts';
import type { FaultCluster } from './fault-cluster.ts';
import { containerNetemRule, delayerCommand, mangleArgv, netemProblems, startDelayer, type Delayer, type NetemParams } from './netem.ts';
import { freePort, type NodeState } from './process-cluster.ts';
import { defaultPython } from '../workload/producer.ts';

/** Labels on everything a cluster creates: its run id, and the harness pid that owns it (stale-run cleanup). */
export const CONTAINER_LABEL_RUN = 'org.tributary.harness.run';
export const CONTAINER_LABEL_PID = 'org.tributary.harness.pid';
/** The chain in each container's network namespace. The namespace is the container's alone, so a fixed name. */
export const CONTAINER_CHAIN = 'TRIBCHAOS';
/** The netem chain in each container's namespace (mangle table). */
export const CONTAINER_NETEM_CHAIN = 'TRIBNETEM';
/** The image's data folder (deploy/Dockerfile: KAFKA_LOG_DIRS, VOLUME) and its non-root user (uid and gid 10001). */
export const CONTAINER_DATA_DIR = '/var/lib/tributary';
export const CONTAINER_USER_ID = 10_001;
/** The "node started" line the server logs once it serves (packages/server/src/node.ts). */
const STARTED_LOG = '"msg":"node started"';
const dockerTimeoutMs = 120_000;
const startTimeoutMs = 120_000;
const startPollMs = 300;
const stopGraceS = 10;
const logTailLinesMax = 10_000;
/** Freeze attempts before a pause fails, and the backoff step between them (cgroup v1 freezes can fail). */
const pauseAttemptsMax = 10;
const pauseRetryMs = 100;

export interface ContainerClusterOptions {
  readonly controllers: number;
  readonly brokers: number;
  /** The Tributary image (scripts/setup-docker.sh builds `tributary:test`). */
  readonly image: string;
  /** Extra KAFKA_* variables for every node, after the harness' own (so they win). */
  readonly env?: Readonly<Record<string, string>>;
  /** The docker CLI (default `docker`, or TRIB_DOCKER). */
  readonly docker?: string;
  /** Latency/loss/reorder faults (needs root, iptables, nsenter and python3 on the host). Default false. */
  readonly netem?: boolean;
  /** The python the packet delayers run on (default /usr/bin/python3 or TRIB_PYTHON). */
  readonly python?: string;
  /** Seeds the delayers' jitter and reordering draws. */
  readonly seed?: number;
  /** A host tmpfs disk per node of this many bytes (needs root), for disk-full/disk-readonly. Default: named volumes. */
  readonly diskBytes?: number;
  /** Where the disks are mounted on the host (`<dir>/<node>/disk`); default a new folder under the OS temp dir. */
  readonly dir?: string;
  /** Run every node on the storage's LazyFileSystem (TRIB_FAULT_FS=lazy) so `powerLoss` drops unsynced writes. */
  readonly lazyFs?: boolean;
}

export interface ContainerNodeInfo {
  readonly name: string;
  readonly id: number;
  readonly roles: readonly ('controller' | 'broker')[];
  /** Container name, also the prefix of its volume. */
  readonly container: string;
  readonly volume: string;
  /** The host folder bind-mounted as the data folder (a tmpfs of its own) when the cluster has disks, else null. */
  readonly diskDir: string | null;
  /** The broker's EXTERNAL port, the same on the host (127.0.0.1) and in the container; null for controllers. */
  readonly clientPort: number | null;
  readonly env: Readonly<Record<string, string>>;
}

/** Node names, ids, roles, container and volume names, ports and KAFKA_* environment: pure given the ports. */
export function planContainerNodes(o: { controllers: number; brokers: number; runId: string; clusterId: string; env: Readonly<Record<string, string>>; diskRoot?: string; lazyFs?: boolean }, clientPorts: readonly number[]): ContainerNodeInfo[] {
  if (!Number.isSafeInteger(o.controllers) || o.controllers < 1 || o.controllers > 9) throw new Error(`controllers must be an integer in 1..9, got ${String(o.controllers)}`);
  if (!Number.isSafeInteger(o.brokers) || o.brokers < 1 || o.brokers > CONTAINER_BROKERS_MAX) throw new Error(`brokers must be an integer in 1..${CONTAINER_BROKERS_MAX}, got ${String(o.brokers)}`);
  if (clientPorts.length < o.brokers) throw new Error(`planContainerNodes needs ${o.brokers} client ports, got ${clientPorts.length}`);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(o.runId)) throw new Error(`run id "${o.runId}" must be lowercase letters, digits and dashes (it names containers)`);
  const voters = Array.from({ length: o.controllers }, (_, i) => `${i + 1}@c${i + 1}:9093`).join(',');
  const replicationFactor = String(Math.min(3, o.brokers));
  const common = {
    KAFKA_CONTROLLER_QUORUM_VOTERS: voters,
    KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
    KAFKA_CLUSTER_ID: o.clusterId,
    // Fence a silent broker within seconds, so faults end in failovers rather than long stalls.
    KAFKA_BROKER_SESSION_TIMEOUT_MS: '3000',
    KAFKA_BROKER_HEARTBEAT_INTERVAL_MS: '500',
    KAFKA_REPLICA_LAG_TIME_MAX_MS: '3000',
    // On a disk of its own the log lives one level down, so the disk-full filler stays out of the log folder.
    ...(o.diskRoot !== undefined ? { KAFKA_LOG_DIRS: `${CONTAINER_DATA_DIR}/data` } : {}),
    ...(o.lazyFs === true ? { TRIB_FAULT_FS: 'lazy' } : {}),
  };
  const diskDir = (name: string): string | null => (o.diskRoot !== undefined ? join(o.diskRoot, name, 'disk') : null);
  const controllers = Array.from({ length: o.controllers }, (_, i): ContainerNodeInfo => ({
    name: `c${i + 1}`,
    id: i + 1,
    roles: ['controller'],
    container: `trib-${o.runId}-c${i + 1}`,
    volume: `trib-${o.runId}-c${i + 1}-data`,
    diskDir: diskDir(`c${i + 1}`),
    clientPort: null,
    env: {
      KAFKA_NODE_ID: String(i + 1),
      KAFKA_PROCESS_ROLES: 'controller',
      KAFKA_LISTENERS: `CONTROLLER://c${i + 1}:9093`,
      // The image's default advertised listener is a client one; a controller has none.
      KAFKA_ADVERTISED_LISTENERS: '',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT',
      ...common,
      ...o.env,
    },
  }));
  const brokers = Array.from({ length: o.brokers }, (_, i): ContainerNodeInfo => {
    const name = `b${i + 1}`;
    const port = clientPorts[i]!;
    return {
      name,
      id: o.controllers + i + 1,
      roles: ['broker'],
      container: `trib-${o.runId}-${name}`,
      volume: `trib-${o.runId}-${name}-data`,
      diskDir: diskDir(name),
      clientPort: port,
      env: {
        KAFKA_NODE_ID: String(o.controllers + i + 1),
        KAFKA_PROCESS_ROLES: 'broker',
        KAFKA_LISTENERS: `PLAINTEXT://${name}:9092,EXTERNAL://:${port}`,
        // 127.0.0.1 rather than localhost: the port is published on IPv4 only.
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${name}:9092,EXTERNAL://127.0.0.1:${port}`,
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT',
        KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
        KAFKA_DEFAULT_REPLICATION_FACTOR: replicationFactor,
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: replicationFactor,
        KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '3',
        ...common,
        ...o.env,
      },
    };
  });
  return [...controllers, ...brokers];
}

/**
 * The iptables argv (after `iptables`) to add in each node's namespace so that side A cannot reach side B (nor
 * B reach A unless oneWay). `addresses` maps node names to their container addresses; `client` is the address
 * the host's clients come from (the network gateway). The client has no namespace of ours: its half of a cut
 * is enforced on the node's side alone.
 */
export function containerPartitionRules(
  sides: readonly [readonly string[], readonly string[]],
  oneWay: boolean,
  addresses: ReadonlyMap<string, string>,
  clientAddress: string,
): Map<string, string[][]> {
  const rules = new Map<string, string[][]>();
  const address = (name: string): string => {
    if (name === 'client') return clientAddress;
    const a = addresses.get(name);
    if (a === undefined) throw new Error(`partition names node "${name}", which the cluster does not have (it has ${[...addresses.keys()].join(', ')}, and client)`);
    return a;
  };
  const add = (node: string, rule: string[]): void => {
    const list = rules.get(node) ?? [];
    if (!list.some((r) => r.join(' ') === rule.join(' '))) list.push(rule);
    rules.set(node, list);
  };
  // x's packets towards y.
  const cut = (x: string, y: string): void => {
    if (x === y) throw new Error(`partition puts "${x}" on both sides`);
    if (x === 'client' && y === 'client') return;
    if (x !== 'client') add(x, ['-A', CONTAINER_CHAIN, '-d', address(y), '-j', 'DROP']);
    if (y !== 'client') add(y, ['-A', CONTAINER_CHAIN, '-s', address(x), '-j', 'DROP']);
  };
  for (const a of sides[0]) {
    for (const b of sides[1]) {
      cut(a, b);
      if (!oneWay) cut(b, a);
    }
  }
  return rules;
}

/**
 * The mount argv (after `mount`, run in the container's mount namespace) stacking a read-only bind mount on the data
 * folder: disks.ts' sequence (bind into a stage folder on the disk, remount it read-only, move it on top). Pure.
 */
export function containerReadonlyMounts(): { stage: string; readonly: string[][] } {
  const { stage, readonly } = diskMountArgs({ name: 'container', diskDir: CONTAINER_DATA_DIR }, DISK_BYTES_DEFAULT, 'unused');
  return { stage, readonly };
}

/** A rule as `iptables -S` prints it back: single addresses get their /32. */
function iptablesSaveForm(rule: readonly string[]): string {
  return rule.map((arg, i) => ((rule[i - 1] === '-s' || rule[i - 1] === '-d') && !arg.includes('/') ? `${arg}/32` : arg)).join(' ');
}

interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
}

async function exec(command: string, args: readonly string[], timeoutMs = dockerTimeoutMs): Promise<ExecResult> {
  return await new Promise((resolveExec, reject) => {
    execFile(command, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${command} ${args.join(' ')} failed: ${(stderr || error.message).trim().slice(-2000)}`, { cause: error }));
      else resolveExec({ stdout, stderr });
    });
  });
}

/** Checks that the docker CLI reaches an engine, and that nsenter and iptables run here (as root). */
export async function checkContainerTools(docker = process.env.TRIB_DOCKER ?? 'docker'): Promise<string[]> {
  const problems: string[] = [];
  await exec(docker, ['version', '--format', '{{.Server.Version}}'], 20_000).catch((error: unknown) => problems.push(`no container engine answers the docker CLI (${(error as Error).message.split('\n')[0]}); run scripts/setup-docker.sh as root`));
  await exec('nsenter', ['--version'], 10_000).catch(() => problems.push('nsenter (util-linux) is missing: partitions enter each container\'s network namespace with it'));
  await exec('iptables', ['-V'], 10_000).catch(() => problems.push('iptables is missing: partitions are iptables rules in each container\'s network namespace (Debian: apt-get install iptables)'));
  if (process.getuid?.() !== 0) problems.push('entering a container\'s network namespace needs root: run as root');
  return problems;
}

/** The largest broker count planContainerNodes takes (each broker publishes a port and runs a container). */
export const CONTAINER_BROKERS_MAX = 16;

/**
 * checkContainerTools for callers that validate synchronously before anything starts (the nemesis runner): the
 * engine, nsenter, iptables, root, and the image.
 */
export function checkContainerToolsSync(image: string, docker = process.env.TRIB_DOCKER ?? 'docker'): string[] {
  const problems: string[] = [];
  const ok = (cmd: string, args: readonly string[]): boolean => {
    try {
      execFileSync(cmd, args, { stdio: 'ignore', timeout: 20_000 });
      return true;
    } catch {
      return false;
    }
  };
  if (!ok(docker, ['version', '--format', '{{.Server.Version}}'])) problems.push(`a container cluster needs a docker engine, and \`${docker} version\` reaches none; run scripts/setup-docker.sh as root, or drop the image to run local processes`);
  else if (!ok(docker, ['image', 'inspect', '--format', '{{.Id}}', image])) problems.push(`image ${image} is missing; build it with scripts/setup-docker.sh (it builds tributary:test)`);
  if (!ok('nsenter', ['--version'])) problems.push('nsenter (util-linux) is missing: container faults enter each container\'s namespaces with it');
  if (!ok('iptables', ['-V'])) problems.push('iptables is missing: partitions and netem are iptables rules in each container\'s network namespace (Debian: apt-get install iptables)');
  if (process.getuid?.() !== 0) problems.push('entering a container\'s namespaces needs root: run as root');
  return problems;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes containers, volumes and networks of clusters whose harness process is gone. Returns what it removed. */
export async function removeStaleContainerClusters(docker = process.env.TRIB_DOCKER ?? 'docker'): Promise<string[]> {
  const lines = async (args: string[]): Promise<string[]> => (await exec(docker, args)).stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const stale = (pidText: string): boolean => {
    const pid = Number(pidText);
    return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !pidAlive(pid);
  };
  const removed: string[] = [];
  const labelFormat = `{{.ID}} {{.Label "${CONTAINER_LABEL_PID}"}}`;
  for (const line of await lines(['ps', '-a', '--filter', `label=${CONTAINER_LABEL_PID}`, '--format', labelFormat])) {
    const [id, pid] = line.split(' ');
    if (id !== undefined && pid !== undefined && stale(pid)) {
      await exec(docker, ['rm', '-f', '-v', id]);
      removed.push(`container ${id}`);
    }
  }
  for (const kind of ['volume', 'network'] as const) {
    for (const line of await lines([kind, 'ls', '--filter', `label=${CONTAINER_LABEL_PID}`, '--format', kind === 'volume' ? '{{.Name}}' : '{{.ID}}'])) {
      const pid = (await exec(docker, [kind, 'inspect', '--format', `{{index .Labels "${CONTAINER_LABEL_PID}"}}`, line])).stdout.trim();
      if (stale(pid)) {
        await exec(docker, [kind, 'rm', line]).catch(() => undefined);
        removed.push(`${kind} ${line}`);
      }
    }
  }
  return removed;
}

const liveClusters = new Set<ContainerCluster>();
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

interface Partition {
  readonly sides: readonly [readonly string[], readonly string[]];
  readonly oneWay: boolean;
}

export class ContainerCluster implements FaultCluster {
  readonly nodes: readonly ContainerNodeInfo[];
  readonly runId: string;
  readonly network: string;
  readonly #docker: string;
  readonly #image: string;
  readonly #states = new Map<string, NodeState>();
  /** The partitions in place, in the order made: applied again after a restart. */
  readonly #partitions: Partition[] = [];
  #addresses = new Map<string, string>();
  #gateway = '';
  #destroyed = false;
  readonly #netemEnabled: boolean;
  readonly #python: string;
  readonly #seed: number;
  /** The netem fault in place and the nodes it acts on: applied again to a node that restarts. */
  #netem: { readonly targets: readonly string[]; readonly params: NetemParams } | null = null;
  /** One packet delayer per container under latency/reorder (an NFQUEUE belongs to one namespace). */
  readonly #delayers = new Map<string, Delayer>();
  readonly #disks: NodeDisks | null;
  /** Nodes whose data folder has the read-only mount stacked on it (inside their mount namespace). */
  readonly #readonly = new Set<string>();
  readonly lazyFs: boolean;

  private constructor(nodes: ContainerNodeInfo[], runId: string, docker: string, image: string, faults: { netem: boolean; python: string; seed: number; disks: NodeDisks | null; lazyFs: boolean }) {
    this.nodes = nodes;
    this.runId = runId;
    this.network = `trib-${runId}`;
    this.#docker = docker;
    this.#image = image;
    this.#netemEnabled = faults.netem;
    this.#python = faults.python;
    this.#seed = faults.seed;
    this.#disks = faults.disks;
    this.lazyFs = faults.lazyFs;
    for (const n of nodes) this.#states.set(n.name, 'stopped');
  }

  /** Checks the tools, plans, creates the network, then starts controllers and brokers and waits for each one. */
  static async start(options: ContainerClusterOptions): Promise<ContainerCluster> {
    const docker = options.docker ?? process.env.TRIB_DOCKER ?? 'docker';
    const problems = await checkContainerTools(docker);
    if (problems.length > 0) throw new Error(`cannot run a container cluster here:\n- ${problems.join('\n- ')}`);
    await exec(docker, ['image', 'inspect', '--format', '{{.Id}}', options.image]).catch((error: unknown) => {
      throw new Error(`image ${options.image} is missing (${(error as Error).message.split('\n')[0]}); build it with scripts/setup-docker.sh`, { cause: error });
    });
    await removeStaleContainerClusters(docker);
    const used = new Set<number>();
    const ports: number[] = [];
    for (let i = 0; i < options.brokers; i++) {
      const port = await freePort('127.0.0.1', used);
      used.add(port);
      ports.push(port);
    }
    const runId = `${process.pid}-${randomBytes(3).toString('hex')}`;
    const wantDisks = options.diskBytes !== undefined;
    const diskRoot = wantDisks ? (options.dir ?? mkdtempSync(join(tmpdir(), 'trib-containers-'))) : undefined;
    const nodes = planContainerNodes({
      controllers: options.controllers, brokers: options.brokers, runId, clusterId: randomBytes(16).toString('base64url'), env: options.env ?? {},
      ...(diskRoot !== undefined ? { diskRoot } : {}), lazyFs: options.lazyFs === true,
    }, ports);
    const disks = wantDisks ? new NodeDisks(nodes.map((n) => ({ name: n.name, diskDir: n.diskDir! })), options.diskBytes) : null;
    const cluster = new ContainerCluster(nodes, runId, docker, options.image, {
      netem: options.netem === true, python: options.python ?? defaultPython, seed: options.seed ?? 1, disks, lazyFs: options.lazyFs === true,
    });
    installExitHooks();
    liveClusters.add(cluster);
    try {
      if (disks !== null) {
        disks.mountAll();
        // The image runs as a non-root user: the disk and its data folder must be that user's.
        for (const n of nodes) {
          mkdirSync(join(n.diskDir!, 'data'), { recursive: true });
          chownSync(n.diskDir!, CONTAINER_USER_ID, CONTAINER_USER_ID);
          chownSync(join(n.diskDir!, 'data'), CONTAINER_USER_ID, CONTAINER_USER_ID);
        }
      }
      await exec(docker, ['network', 'create', ...cluster.#labels(), cluster.network]);
      cluster.#gateway = (await exec(docker, ['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Gateway}} {{end}}', cluster.network])).stdout.trim().split(' ')[0] ?? '';
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(cluster.#gateway)) throw new Error(`network ${cluster.network} has no IPv4 gateway (got "${cluster.#gateway}"): client partitions need it`);
      // Controllers first: brokers register with the quorum as they start.
      await Promise.all(nodes.filter((n) => n.roles.includes('controller')).map((n) => cluster.#create(n)));
      await Promise.all(nodes.filter((n) => !n.roles.includes('controller')).map((n) => cluster.#create(n)));
    } catch (err) {
      const tails = await cluster.logTails(40).catch(() => ({}));
      await cluster.destroy();
      const logs = Object.entries(tails).map(([name, tail]) => `----- ${name} -----\n${tail}`).join('\n');
      throw new Error(`${(err as Error).message}${logs === '' ? '' : `\n${logs}`}`, { cause: err });
    }
    return cluster;
  }

  #labels(): string[] {
    return ['--label', `${CONTAINER_LABEL_RUN}=${this.runId}`, '--label', `${CONTAINER_LABEL_PID}=${process.pid}`];
  }

  #node(name: string): ContainerNodeInfo {
    const node = this.nodes.find((n) => n.name === name);
    if (node === undefined) throw new Error(`no node "${name}" in this cluster; it has ${this.names.join(', ')}`);
    return node;
  }

  async #create(n: ContainerNodeInfo): Promise<void> {
    if (n.diskDir === null) await exec(this.#docker, ['volume', 'create', ...this.#labels(), n.volume]);
    const args = [
      'create', '--name', n.container, '--hostname', n.name, '--network', this.network, '--network-alias', n.name, ...this.#labels(),
      '--volume', `${n.diskDir ?? n.volume}:${CONTAINER_DATA_DIR}`,
      ...(n.clientPort === null ? [] : ['--publish', `127.0.0.1:${n.clientPort}:${n.clientPort}`]),
      ...Object.entries(n.env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
      this.#image,
    ];
    await exec(this.#docker, args);
    await this.#start(n);
  }

  /** `docker start`, then waits for this start's "node started" line; fails early if the container exits. */
  async #start(n: ContainerNodeInfo): Promise<void> {
    // Whole seconds: `docker logs --since` takes a Unix time; one second early cannot reach an earlier start.
    const sinceS = Math.floor(Date.now() / 1000) - 1;
    await exec(this.#docker, ['start', n.container]);
    this.#states.set(n.name, 'running');
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      const logs = await exec(this.#docker, ['logs', '--since', String(sinceS), n.container]);
      if (logs.stdout.includes(STARTED_LOG)) break;
      const running = (await exec(this.#docker, ['inspect', '--format', '{{.State.Running}} {{.State.ExitCode}}', n.container])).stdout.trim();
      if (running.startsWith('false')) {
        this.#states.set(n.name, 'stopped');
        throw new Error(`node ${n.name} (container ${n.container}) exited before starting (${running}): ${(logs.stdout + logs.stderr).split('\n').slice(-20).join('\n')}`);
      }
      if (Date.now() > deadline) throw new Error(`node ${n.name} (container ${n.container}) did not log "node started" within ${startTimeoutMs} ms; see docker logs ${n.container}`);
      await new Promise((r) => setTimeout(r, startPollMs));
    }
    await this.#refreshAddresses();
    // New namespaces have no rules and no stacked mount: put back every fault still in place.
    if (this.#partitions.length > 0) await this.#applyAll();
    if (this.#netem?.targets.includes(n.name) === true) await this.#applyNetem(n);
    if (this.#readonly.has(n.name)) await this.#stackReadonly(n);
  }

  async #refreshAddresses(): Promise<void> {
    const format = `{{.Name}} {{with index .NetworkSettings.Networks "${this.network}"}}{{.IPAddress}}{{end}}`;
    const running = this.nodes.filter((n) => this.#states.get(n.name) !== 'stopped');
    if (running.length === 0) return;
    const out = (await exec(this.#docker, ['inspect', '--format', format, ...running.map((n) => n.container)])).stdout;
    for (const line of out.split('\n')) {
      const [name, address] = line.trim().split(' ');
      const node = this.nodes.find((n) => `/${n.container}` === name);
      if (node !== undefined && address !== undefined && address !== '') this.#addresses.set(node.name, address);
    }
  }

  get names(): string[] {
    return this.nodes.map((n) => n.name);
  }

  get brokerNames(): string[] {
    return this.nodes.filter((n) => n.roles.includes('broker')).map((n) => n.name);
  }

  get controllerNames(): string[] {
    return this.nodes.filter((n) => n.roles.includes('controller')).map((n) => n.name);
  }

  /** `127.0.0.1:port,...` of every broker's published EXTERNAL listener. */
  get bootstrap(): string {
    return this.nodes.filter((n) => n.clientPort !== null).map((n) => `127.0.0.1:${n.clientPort}`).join(',');
  }

  /** The address the host's clients reach the containers from (the network's gateway): `client` in partitions. */
  get clientAddress(): string {
    return this.#gateway;
  }

  info(name: string): ContainerNodeInfo {
    return this.#node(name);
  }

  /** The node's name for a Kafka node id (brokers in metadata, the quorum leader). */
  nameOf(nodeId: number): string {
    const node = this.nodes.find((n) => n.id === nodeId);
    if (node === undefined) throw new Error(`no node with id ${nodeId} in this cluster (ids ${this.nodes.map((n) => n.id).join(', ')})`);
    return node.name;
  }

  state(name: string): NodeState {
    return this.#states.get(this.#node(name).name)!;
  }

  /** The container's address on the cluster network (as of its last start). */
  address(name: string): string | null {
    return this.#addresses.get(this.#node(name).name) ?? null;
  }

  /** `docker kill` (SIGKILL), waiting for the exit. */
  async kill(names: readonly string[]): Promise<void> {
    await Promise.all(names.map(async (name) => {
      const n = this.#node(name);
      if (this.#states.get(name) === 'stopped') return;
      // A frozen container takes SIGKILL as it is; thawing first keeps the engine's state simple.
      if (this.#states.get(name) === 'paused') await exec(this.#docker, ['unpause', n.container]);
      await exec(this.#docker, ['kill', n.container]);
      await exec(this.#docker, ['wait', n.container]);
      this.#states.set(name, 'stopped');
    }));
  }

  /** `docker stop`: SIGTERM, SIGKILL after a grace period. A paused container is resumed first so it can act on it. */
  async stop(names: readonly string[]): Promise<void> {
    await Promise.all(names.map(async (name) => {
      const n = this.#node(name);
      if (this.#states.get(name) === 'stopped') return;
      if (this.#states.get(name) === 'paused') await exec(this.#docker, ['unpause', n.container]);
      await exec(this.#docker, ['stop', '--time', String(stopGraceS), n.container], (stopGraceS + 60) * 1000);
      this.#states.set(name, 'stopped');
    }));
  }

  /**
   * `docker pause`: the cgroup freezer stops every process of the container at once. On cgroup v1 a freeze can
   * fail ("unable to freeze") while a process sits in an uninterruptible wait (an fsync, say); runc thaws the
   * container again and the attempt is repeated, a bounded number of times.
   */
  async pause(names: readonly string[]): Promise<void> {
    await Promise.all(names.map(async (name) => {
      const n = this.#node(name);
      if (this.#states.get(n.name) !== 'running') return;
      for (let attempt = 1; ; attempt++) {
        try {
          await exec(this.#docker, ['pause', n.container]);
          break;
        } catch (err) {
          if (!/unable to freeze/.test((err as Error).message) || attempt >= pauseAttemptsMax) {
            throw new Error(`cannot pause node ${name} (container ${n.container}) after ${attempt} attempt(s): ${(err as Error).message}`, { cause: err });
          }
          await new Promise((r) => setTimeout(r, pauseRetryMs * attempt));
        }
      }
      this.#states.set(name, 'paused');
    }));
  }

  async resume(names: readonly string[]): Promise<void> {
    await Promise.all(names.map(async (name) => {
      if (this.#states.get(this.#node(name).name) !== 'paused') return;
      await exec(this.#docker, ['unpause', this.#node(name).container]);
      this.#states.set(name, 'running');
    }));
  }

  /**
   * Power cut: `docker kill` of nodes running on the LazyFileSystem (`lazyFs`), so what they wrote and did not fsync
   * is gone; `restart` is power on.
   */
  async powerLoss(names: readonly string[]): Promise<void> {
    if (!this.lazyFs) throw new Error('this container cluster was started without lazyFs; start it with lazyFs: true so that docker kill drops unsynced writes (a plain kill keeps them: the host\'s page cache survives)');
    await this.kill(names);
  }

  /** Starts stopped nodes again (same container, volume and ports); running ones are left alone. */
  async restart(names: readonly string[]): Promise<void> {
    await Promise.all(names.map(async (name) => {
      if (this.#states.get(this.#node(name).name) === 'stopped') await this.#start(this.#node(name));
    }));
  }

  /** Cuts side A off from side B (both ways unless oneWay); `client` names the harness' clients on the host. */
  async partition(a: readonly string[], b: readonly string[], oneWay = false): Promise<void> {
    for (const name of [...a, ...b]) if (name !== 'client') this.#node(name);
    const p: Partition = { sides: [[...a], [...b]], oneWay };
    // Checked before anything changes: a bad partition leaves the rules as they were.
    containerPartitionRules(p.sides, p.oneWay, new Map(this.nodes.map((n) => [n.name, '0.0.0.0'])), '0.0.0.0');
    this.#partitions.push(p);
    await this.#applyAll();
  }

  /** Removes every partition rule (the chains stay, empty). */
  async heal(): Promise<void> {
    this.#partitions.length = 0;
    await this.#applyAll();
  }

  /** Every node back: partitions, netem and disks healed, paused nodes resumed, stopped nodes restarted. */
  async healAll(): Promise<void> {
    await this.heal();
    await this.netemHeal();
    await this.diskHeal();
    await this.resume(this.names);
    await this.restart(this.names);
  }

  /** The rules in a node's chain (`iptables -S` lines), for tests and reports. */
  async rules(name: string): Promise<string[]> {
    const pid = await this.#pid(this.#node(name));
    if (pid === null) return [];
    const out = await this.#iptables(pid, ['-S', CONTAINER_CHAIN]).catch(() => '');
    return out.split('\n').filter((l) => l.startsWith('-A'));
  }

  async #pid(n: ContainerNodeInfo): Promise<number | null> {
    if (this.#states.get(n.name) === 'stopped') return null;
    const pid = Number((await exec(this.#docker, ['inspect', '--format', '{{.State.Pid}}', n.container])).stdout.trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  }

  async #iptables(pid: number, args: readonly string[]): Promise<string> {
    return (await exec('nsenter', ['-t', String(pid), '-n', 'iptables', '-w', '5', ...args], 20_000)).stdout;
  }

  /** Makes every running node's chain hold exactly the rules of the partitions in place. */
  async #applyAll(): Promise<void> {
    await this.#refreshAddresses();
    const wanted = new Map<string, string[][]>();
    for (const p of this.#partitions) {
      for (const [node, rules] of containerPartitionRules(p.sides, p.oneWay, this.#addresses, this.#gateway)) wanted.set(node, [...(wanted.get(node) ?? []), ...rules]);
    }
    await Promise.all(this.nodes.map(async (n) => {
      const pid = await this.#pid(n);
      if (pid === null) return;
      await this.#ensureChain(pid);
      const rules = wanted.get(n.name) ?? [];
      // A chain that already holds exactly these rules is left alone: rewriting it would open a gap in a
      // partition that is meant to hold (e.g. while another node restarts).
      const current = (await this.#iptables(pid, ['-S', CONTAINER_CHAIN])).split('\n').filter((l) => l.startsWith('-A '));
      if (current.join('\n') === rules.map(iptablesSaveForm).join('\n')) return;
      await this.#iptables(pid, ['-F', CONTAINER_CHAIN]);
      for (const rule of rules) await this.#iptables(pid, rule);
    }));
  }

  async #ensureChain(pid: number): Promise<void> {
    const existing = await this.#iptables(pid, ['-S']);
    if (!existing.split('\n').includes(`-N ${CONTAINER_CHAIN}`)) await this.#iptables(pid, ['-N', CONTAINER_CHAIN]);
    for (const hook of ['INPUT', 'OUTPUT']) {
      if (!existing.split('\n').includes(`-A ${hook} -j ${CONTAINER_CHAIN}`)) await this.#iptables(pid, ['-I', hook, '1', '-j', CONTAINER_CHAIN]);
    }
  }

  async #mangle(pid: number, args: readonly string[]): Promise<string> {
    return (await exec('nsenter', ['-t', String(pid), '-n', 'iptables', ...mangleArgv(args)], 20_000)).stdout;
  }

  /** Delays, drops or reorders what the named containers send (on eth0), replacing any netem fault in place. */
  async netem(names: readonly string[], params: NetemParams): Promise<void> {
    if (!this.#netemEnabled) throw new Error('this container cluster was started without netem; start it with netem: true (needs root, iptables, nsenter and python3 on the host) to delay, drop or reorder packets');
    const problems = netemProblems(params);
    if (problems.length > 0) throw new Error(problems.join('; '));
    if (names.length === 0) throw new Error('netem needs at least one node to act on');
    for (const name of names) this.#node(name);
    await this.netemHeal();
    this.#netem = { targets: [...names], params };
    await Promise.all(names.map((name) => this.#applyNetem(this.#node(name))));
  }

  /** Puts the netem fault in place on one node, if it is among the targets and runs (a stopped one gets it at restart). */
  async #applyNetem(n: ContainerNodeInfo): Promise<void> {
    const active = this.#netem;
    if (active === null || !active.targets.includes(n.name)) return;
    const pid = await this.#pid(n);
    if (pid === null) return;
    const existing = await this.#mangle(pid, ['-S']);
    if (!existing.split('\n').includes(`-N ${CONTAINER_NETEM_CHAIN}`)) await this.#mangle(pid, ['-N', CONTAINER_NETEM_CHAIN]);
    if (!existing.split('\n').includes(`-A OUTPUT -j ${CONTAINER_NETEM_CHAIN}`)) await this.#mangle(pid, ['-I', 'OUTPUT', '1', '-j', CONTAINER_NETEM_CHAIN]);
    await this.#mangle(pid, ['-F', CONTAINER_NETEM_CHAIN]);
    let queue = 0;
    const command = delayerCommand(active.params);
    if (command !== null) {
      // A delayer of an earlier start is bound in the namespace that died with it.
      this.#delayers.get(n.name)?.kill();
      this.#delayers.delete(n.name);
      const delayer = await startDelayer(this.#python, this.#seed + n.id, n.id, ['nsenter', '-t', String(pid), '-n']);
      this.#delayers.set(n.name, delayer);
      await delayer.send(command);
      queue = delayer.queue;
    }
    await this.#mangle(pid, containerNetemRule(CONTAINER_NETEM_CHAIN, active.params, queue));
  }

  /** Removes every netem rule (the chains stay, empty), lets held packets go and ends the delayers. */
  async netemHeal(): Promise<void> {
    this.#netem = null;
    await Promise.all(this.nodes.map(async (n) => {
      const pid = await this.#pid(n).catch(() => null);
      // A namespace that never had the chain has nothing to flush.
      if (pid !== null) await this.#mangle(pid, ['-F', CONTAINER_NETEM_CHAIN]).catch(() => undefined);
    }));
    await Promise.all([...this.#delayers.values()].map(async (d) => {
      if (!d.exited) await d.send({ release: true }).catch(() => undefined);
      d.kill();
    }));
    this.#delayers.clear();
  }

  /** The netem rules in place per running node (`iptables -S` lines), for tests and reports. */
  async netemRules(name: string): Promise<string[]> {
    const pid = await this.#pid(this.#node(name));
    if (pid === null) return [];
    const out = await this.#mangle(pid, ['-S', CONTAINER_NETEM_CHAIN]).catch(() => '');
    return out.split('\n').filter((l) => l.startsWith('-A'));
  }

  #requireDisks(): NodeDisks {
    if (this.#disks === null) throw new Error('this container cluster was started without disks of its own; start it with diskBytes (needs root) to fill disks or make them read-only');
    return this.#disks;
  }

  /** Fills the named nodes' disks from the host until ENOSPC; returns the bytes the filler took per node. */
  diskFull(names: readonly string[]): Record<string, number> {
    const disks = this.#requireDisks();
    for (const n of names) this.#node(n);
    for (const n of names) if (this.#readonly.has(n)) throw new Error(`disk of ${n} is read-only; heal it before filling it`);
    return Object.fromEntries(names.map((n) => [n, disks.fill(n)]));
  }

  /** Stacks a read-only bind mount on each named node's data folder, inside its mount namespace. */
  async diskReadonly(names: readonly string[]): Promise<void> {
    this.#requireDisks();
    for (const n of names) this.#node(n);
    await Promise.all(names.filter((n) => !this.#readonly.has(n)).map(async (name) => {
      this.#readonly.add(name);
      await this.#stackReadonly(this.#node(name));
    }));
  }

  async #stackReadonly(n: ContainerNodeInfo): Promise<void> {
    const pid = await this.#pid(n);
    if (pid === null) return;
    const { stage, readonly } = containerReadonlyMounts();
    // The stage folder is on the disk itself: made from the host, seen by the container.
    mkdirSync(join(n.diskDir!, stage.slice(CONTAINER_DATA_DIR.length + 1)), { recursive: true });
    const mount = async (args: readonly string[]): Promise<void> => {
      await exec('nsenter', ['-t', String(pid), '-m', ...args], 20_000);
    };
    await mount(['mount', ...readonly[0]!]);
    try {
      await mount(['mount', ...readonly[1]!]);
      await mount(['mount', ...readonly[2]!]);
    } catch (err) {
      await mount(['umount', stage]).catch(() => undefined);
      throw new Error(`cannot make ${n.name}'s data folder read-only: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Frees and makes writable the named disks (every disk when no names). */
  async diskHeal(names?: readonly string[]): Promise<void> {
    if (this.#disks === null) return;
    const targets = names ?? this.names;
    for (const name of targets) this.#node(name);
    await Promise.all(targets.map(async (name) => {
      if (!this.#readonly.delete(name)) return;
      const pid = await this.#pid(this.#node(name));
      // A stopped container's mount namespace is gone, and with it the stacked mount.
      if (pid !== null) await exec('nsenter', ['-t', String(pid), '-m', 'umount', CONTAINER_DATA_DIR], 20_000);
    }));
    for (const name of targets) if (this.#disks.state(name) === 'full') this.#disks.heal(name);
  }

  /** The disk mounts of this cluster still on the host. */
  diskMounts(): string[] {
    return this.#disks?.mountedTargets() ?? [];
  }

  diskUsedBytes(name: string): number {
    return this.#requireDisks().usedBytes(name);
  }

  /** The last lines each node logged (stdout and stderr), for a failure report. */
  async logTails(lines = 100): Promise<Record<string, string>> {
    const tail = String(Math.min(Math.max(1, lines), logTailLinesMax));
    const entries = await Promise.all(this.nodes.map(async (n) => {
      const out = await exec(this.#docker, ['logs', '--tail', tail, n.container]).catch((error: unknown) => ({ stdout: '', stderr: (error as Error).message }));
      return [n.name, `${out.stdout}${out.stderr}`] as const;
    }));
    return Object.fromEntries(entries);
  }

  /**
   * Removes the rules, then every container (with -9), volume and the network, ends the delayers and unmounts the
   * disks. `saveData`: copy each node's data off its disk first (to `<dir>/<node>/data-saved/`), as the disks live
   * in RAM. Idempotent; never throws.
   */
  async destroy(o: { saveData?: boolean } = {}): Promise<void> {
    if (this.#destroyed) return;
    this.#partitions.length = 0;
    // The rules go with the containers' namespaces; flushed first anyway, so nothing is left should a removal fail.
    await this.#applyAll().catch(() => undefined);
    await this.netemHeal().catch(() => undefined);
    await exec(this.#docker, ['rm', '-f', '-v', ...this.nodes.map((n) => n.container)]).catch(() => undefined);
    if (o.saveData === true && this.#disks !== null) {
      for (const n of this.nodes) {
        try {
          this.#disks.save(n.name, join(n.diskDir!, '..', 'data-saved'));
        } catch {
          // a copy that fails must not keep the teardown from unmounting
        }
      }
    }
    await exec(this.#docker, ['volume', 'rm', '-f', ...this.nodes.map((n) => n.volume)]).catch(() => undefined);
    await exec(this.#docker, ['network', 'rm', this.network]).catch(() => undefined);
    this.#markDestroyed();
    this.#disposeLocal();
  }

  /** Delayers and host disks: synchronous, never throws (exit and signal handlers too, after the containers went). */
  #disposeLocal(): void {
    for (const d of this.#delayers.values()) d.kill();
    this.#delayers.clear();
    this.#readonly.clear();
    this.#disks?.disposeSync();
  }

  #markDestroyed(): void {
    this.#destroyed = true;
    liveClusters.delete(this);
    for (const n of this.nodes) this.#states.set(n.name, 'stopped');
  }

  /** For exit and signal handlers: containers (and with them their namespaces and rules), volumes, network; synchronously. */
  destroySync(): void {
    if (this.#destroyed) return;
    this.#markDestroyed();
    const run = (args: string[]): void => {
      try {
        execFileSync(this.#docker, args, { stdio: 'ignore', timeout: dockerTimeoutMs });
      } catch {
        // already gone, or the engine is: nothing more a teardown can do
      }
    };
    run(['rm', '-f', '-v', ...this.nodes.map((n) => n.container)]);
    run(['volume', 'rm', '-f', ...this.nodes.map((n) => n.volume)]);
    run(['network', 'rm', this.network]);
    this.#disposeLocal();
  }

  /** What of this cluster is still on the engine (containers, volumes, network): empty after a teardown. */
  async leftovers(): Promise<string[]> {
    const label = `label=${CONTAINER_LABEL_RUN}=${this.runId}`;
    const list = async (args: string[]): Promise<string[]> => (await exec(this.#docker, args)).stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    return [
      ...(await list(['ps', '-a', '--filter', label, '--format', '{{.Names}}'])).map((x) => `container ${x}`),
      ...(await list(['volume', 'ls', '--filter', label, '--format', '{{.Name}}'])).map((x) => `volume ${x}`),
      ...(await list(['network', 'ls', '--filter', label, '--format', '{{.Name}}'])).map((x) => `network ${x}`),
    ];
  }
}
