/**
 * The shape of a local cluster: node ids, roles, ports, folders and the exact argv of each node. Pure (no
 * I/O): `up` plans, checks the plan, then starts it; tests check plans directly.
 *
 * Ids and ports: with `--nodes N` ids 1..N are combined broker+controller nodes; with `--controllers C
 * --brokers B` ids 1..C are controllers and C+1..C+B brokers. The k-th broker (k from 0, in id order) listens
 * for clients on basePort+k, the k-th controller on controllerBasePort+k.
 */
import { isAbsolute, join } from 'node:path';

export type Role = 'broker' | 'controller';

export interface LayoutOptions {
  /** Combined nodes (`--nodes N`); null when controllers and brokers are given apart. */
  nodes: number | null;
  controllers: number | null;
  brokers: number | null;
  /** Absolute cluster folder. */
  dir: string;
  basePort: number;
  controllerBasePort: number;
  /** Brokers spread over racks rack-0..rack-(K-1) round-robin; 0: no broker.rack. */
  rackCount: number;
  /** `--override k=v` for every node, applied after the launcher's own keys (so they win). */
  overrides: readonly (readonly [string, string])[];
  host: string;
}

export interface NodePlan {
  id: number;
  roles: Role[];
  /** Client (PLAINTEXT) port; null for a controller-only node. */
  clientPort: number | null;
  /** CONTROLLER port; null for a broker-only node. */
  controllerPort: number | null;
  rack: string | null;
  /** The node's folder: data/ (log.dirs), stdout.log, stderr.log. */
  dir: string;
  dataDir: string;
  stdoutPath: string;
  stderrPath: string;
  /** The server entry's arguments: its --override pairs (the state file records the whole argv). */
  args: string[];
}

export interface ClusterPlan {
  clusterId: string;
  host: string;
  nodes: NodePlan[];
}

export const DEFAULT_BASE_PORT = 9092;
export const DEFAULT_CONTROLLER_BASE_PORT = 19093;
/** A local cluster on one machine: beyond this the machine, not the launcher, is the limit. */
export const MAX_NODES = 64;
export const MAX_PORT = 65535;

export class LayoutError extends Error {
  override name = 'LayoutError';
}

/** Ids and roles, in id order. */
export function nodeRoles(o: Pick<LayoutOptions, 'nodes' | 'controllers' | 'brokers'>): { id: number; roles: Role[] }[] {
  if (o.nodes !== null) {
    if (o.controllers !== null || o.brokers !== null) throw new LayoutError('give either --nodes N (combined nodes) or --controllers C --brokers B, not both');
    checkCount(o.nodes, '--nodes', 1);
    return Array.from({ length: o.nodes }, (_, i) => ({ id: i + 1, roles: ['broker', 'controller'] as Role[] }));
  }
  if (o.controllers === null && o.brokers === null) throw new LayoutError('give --nodes N (combined nodes) or --controllers C --brokers B');
  if (o.controllers === null) throw new LayoutError('--brokers needs --controllers (brokers find the cluster through the controller quorum)');
  if (o.brokers === null) throw new LayoutError('--controllers needs --brokers (a cluster without brokers serves no client); for combined nodes use --nodes N');
  checkCount(o.controllers, '--controllers', 1);
  checkCount(o.brokers, '--brokers', 1);
  if (o.controllers + o.brokers > MAX_NODES) throw new LayoutError(`--controllers + --brokers is ${o.controllers + o.brokers}; at most ${MAX_NODES} nodes`);
  const controllers = Array.from({ length: o.controllers }, (_, i) => ({ id: i + 1, roles: ['controller'] as Role[] }));
  const brokers = Array.from({ length: o.brokers }, (_, i) => ({ id: o.controllers! + i + 1, roles: ['broker'] as Role[] }));
  return [...controllers, ...brokers];
}

function checkCount(n: number, option: string, min: number): void {
  if (!Number.isSafeInteger(n) || n < min || n > MAX_NODES) throw new LayoutError(`${option} must be an integer in ${min}..${MAX_NODES}, got ${n}`);
}

function checkPortRange(base: number, count: number, option: string): void {
  if (!Number.isSafeInteger(base) || base < 1 || base > MAX_PORT) throw new LayoutError(`${option} must be a port in 1..${MAX_PORT}, got ${base}`);
  if (base + count - 1 > MAX_PORT) throw new LayoutError(`${option} ${base} leaves no room for ${count} ports (the last would be ${base + count - 1} > ${MAX_PORT})`);
}

/** The whole plan. `clusterId` comes from the caller (fresh, or the one a kept cluster folder records). */
export function planCluster(o: LayoutOptions, clusterId: string): ClusterPlan {
  if (!isAbsolute(o.dir)) throw new LayoutError(`the cluster folder must be an absolute path, got ${o.dir}`);
  if (!Number.isSafeInteger(o.rackCount) || o.rackCount < 0 || o.rackCount > MAX_NODES) throw new LayoutError(`--rack-count must be an integer in 0..${MAX_NODES}, got ${o.rackCount}`);
  const roles = nodeRoles(o);
  const brokerIds = roles.filter((n) => n.roles.includes('broker')).map((n) => n.id);
  const controllerIds = roles.filter((n) => n.roles.includes('controller')).map((n) => n.id);
  checkPortRange(o.basePort, brokerIds.length, '--base-port');
  checkPortRange(o.controllerBasePort, controllerIds.length, '--controller-base-port');
  const clientPorts = new Map(brokerIds.map((id, k) => [id, o.basePort + k]));
  const controllerPorts = new Map(controllerIds.map((id, k) => [id, o.controllerBasePort + k]));
  const clash = [...clientPorts.values()].find((p) => [...controllerPorts.values()].includes(p));
  if (clash !== undefined) {
    throw new LayoutError(`client ports (${o.basePort}..) and controller ports (${o.controllerBasePort}..) overlap at ${clash}: move one with --base-port or --controller-base-port`);
  }
  const voters = controllerIds.map((id) => `${id}@${o.host}:${controllerPorts.get(id)}`).join(',');
  const nodes = roles.map(({ id, roles: r }): NodePlan => {
    const clientPort = clientPorts.get(id) ?? null;
    const controllerPort = controllerPorts.get(id) ?? null;
    const k = brokerIds.indexOf(id);
    const rack = k >= 0 && o.rackCount > 0 ? `rack-${k % o.rackCount}` : null;
    const dir = join(o.dir, `node-${id}`);
    const dataDir = join(dir, 'data');
    const listeners = [clientPort !== null ? `PLAINTEXT://${o.host}:${clientPort}` : null, controllerPort !== null ? `CONTROLLER://${o.host}:${controllerPort}` : null].filter((l) => l !== null);
    const keys: [string, string][] = [
      ['node.id', String(id)],
      ['process.roles', r.join(',')],
      ['listeners', listeners.join(',')],
      ...(clientPort !== null ? ([['advertised.listeners', `PLAINTEXT://${o.host}:${clientPort}`]] as [string, string][]) : []),
      ['controller.listener.names', 'CONTROLLER'],
      ['controller.quorum.voters', voters],
      ['log.dirs', dataDir],
      ['cluster.id', clusterId],
      ...(rack !== null ? ([['broker.rack', rack]] as [string, string][]) : []),
    ];
    // Later keys win in the node's own parser; keep one entry per key so the argv reads plainly.
    const merged = new Map<string, string>(keys);
    for (const [k2, v] of o.overrides) merged.set(k2, v);
    const args = [...merged].flatMap(([k2, v]) => ['--override', `${k2}=${v}`]);
    return { id, roles: r, clientPort, controllerPort, rack, dir, dataDir, stdoutPath: join(dir, 'stdout.log'), stderrPath: join(dir, 'stderr.log'), args };
  });
  return { clusterId, host: o.host, nodes };
}

/** `host:port,...` of every broker, for clients. */
export function bootstrapServers(plan: { host: string; nodes: readonly { clientPort: number | null }[] }): string {
  return plan.nodes.filter((n) => n.clientPort !== null).map((n) => `${plan.host}:${n.clientPort}`).join(',');
}

/** A Kafka-style cluster id: 16 random bytes in URL-safe base64 without padding (22 characters), as `kafka-storage random-uuid` prints. */
export function formatClusterId(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new LayoutError(`a cluster id needs 16 bytes, got ${bytes.length}`);
  return Buffer.from(bytes).toString('base64url');
}
