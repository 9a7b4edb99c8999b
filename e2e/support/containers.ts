// Tributary in Docker containers through testcontainers, for e2e/test/containers. The images come from
// scripts/setup-docker.sh (a local base image and `tributary:test` built from the working tree); nothing
// is pulled, and clients on the host reach the containers through published ports only.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GenericContainer, getContainerRuntimeClient, ImageName, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { describe, test } from 'vitest';
import { runOk } from './kcat.ts';
import { repoRoot } from './node.ts';

// The reaper (Ryuk) is an image from Docker Hub, which cannot be pulled here; every test removes its own
// containers, networks and volumes instead. testcontainers reads this when it starts the first container.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

export const tributaryImage = process.env.TRIB_DOCKER_IMAGE ?? 'tributary:test';
/** The line a node logs once it serves clients (packages/server/src/node.ts); needs no shell in the image. */
export const nodeStartedLog = /"msg":"node started"/;
const startupTimeoutMs = 120_000;
const setupStatusFile = join(repoRoot, '.tools/docker/status');

/** The single-node environment of the seed tutorial's compose file (apache/kafka), verbatim. */
export const seedSingleNodeEnv: Readonly<Record<string, string>> = {
  KAFKA_NODE_ID: '1',
  KAFKA_PROCESS_ROLES: 'broker,controller',
  KAFKA_LISTENERS: 'PLAINTEXT://broker:9092,CONTROLLER://broker:9093',
  KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://localhost:9092',
  KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
  KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
  KAFKA_CONTROLLER_QUORUM_VOTERS: '1@broker:9093',
  KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
  KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
  KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
  KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
  KAFKA_NUM_PARTITIONS: '3',
};

/** Why containers cannot run here (engine down, image missing), or null when they can. */
export async function containersUnavailableReason(): Promise<string | null> {
  const setup = existsSync(setupStatusFile) ? readFileSync(setupStatusFile, 'utf8').trim() : '';
  const setupNote = setup === '' || setup === 'ok' ? '' : `\nscripts/setup-docker.sh reported:\n${setup}`;
  try {
    const client = await getContainerRuntimeClient();
    if (!(await client.image.exists(ImageName.fromString(tributaryImage)))) {
      return `image ${tributaryImage} is missing: run scripts/setup-docker.sh (as root) to build it${setupNote}`;
    }
    return null;
  } catch (error) {
    return `no container engine answers (${(error as Error).message.split('\n')[0]}): run scripts/setup-docker.sh as root${setupNote}`;
  }
}

const unavailable = await containersUnavailableReason();

/**
 * `describe` for container suites. Without a usable engine the suite fails in CI (CI=true), where the
 * setup must have provided one, and is skipped with the reason printed elsewhere.
 */
export function describeContainers(name: string, body: () => void): void {
  if (unavailable === null) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      test('a container engine and the Tributary image are available', () => {
        throw new Error(`${name}: ${unavailable}`);
      });
    });
  } else {
    // Skipped only outside CI, on a machine without a Docker engine or the image (the reason is printed); in CI the
    // branch above turns the same condition into a failing test.
    console.warn(`[containers] skipping "${name}": ${unavailable}`);
    describe.skip(name, body);
  }
}

export interface NodeContainerOptions {
  env: Record<string, string>;
  hostname: string;
  /** Host port -> container port, published on the host. */
  ports?: ReadonlyArray<{ host: number; container: number }>;
  network?: StartedNetwork;
  /** A named volume (created on first use) mounted at the image's data directory. */
  volume?: string;
}

/** Starts a Tributary container and waits for its "node started" log line. */
export async function startNodeContainer(options: NodeContainerOptions): Promise<StartedTestContainer> {
  let container = new GenericContainer(tributaryImage)
    .withHostname(options.hostname)
    .withEnvironment(options.env)
    .withExposedPorts(...(options.ports ?? []))
    .withWaitStrategy(Wait.forLogMessage(nodeStartedLog))
    .withStartupTimeout(startupTimeoutMs);
  if (options.network !== undefined) container = container.withNetwork(options.network).withNetworkAliases(options.hostname);
  // Docker takes a bare name as a named volume: the data outlives the container, as in a compose file.
  if (options.volume !== undefined) container = container.withBindMounts([{ source: options.volume, target: '/var/lib/tributary' }]);
  return await container.start();
}

/** Stops and removes a container (a graceful stop, like `docker compose down`) with its anonymous volumes. */
export async function removeContainer(container: StartedTestContainer | null | undefined): Promise<void> {
  await container?.stop({ timeout: 10_000, remove: true, removeVolumes: true });
}

export async function removeVolume(name: string): Promise<void> {
  const client = await getContainerRuntimeClient();
  await client.container.dockerode.getVolume(name).remove({ force: true }).catch((error: unknown) => {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  });
}

export interface ContainerState {
  running: boolean;
  exitCode: number;
  health: string | null;
  user: string;
  mounts: Array<{ type: string; destination: string; name: string | null }>;
}

export async function inspectContainer(id: string): Promise<ContainerState> {
  const client = await getContainerRuntimeClient();
  const info = await client.container.inspect(client.container.getById(id));
  return {
    running: info.State.Running,
    exitCode: info.State.ExitCode,
    health: info.State.Health?.Status ?? null,
    user: info.Config.User,
    mounts: info.Mounts.map((m) => ({ type: m.Type, destination: m.Destination, name: m.Name ?? null })),
  };
}

/** Polls `check` every `intervalMs` until it returns a value, or throws after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | null>, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== null) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Everything a container has logged so far (stdout and stderr), bounded to the last `maxChars`. */
export async function containerLogs(id: string, maxChars = 200_000): Promise<string> {
  const client = await getContainerRuntimeClient();
  const stream: Readable = await client.container.logs(client.container.getById(id));
  return await new Promise((resolveLogs, reject) => {
    let text = '';
    // The stream follows the log; a running container's log never ends, so stop once it goes quiet.
    const quiet = setTimeout(() => { stream.destroy(); resolveLogs(text); }, 1000);
    stream.on('data', (chunk: string | Buffer) => {
      text = (text + chunk.toString()).slice(-maxChars);
      quiet.refresh();
    });
    stream.on('end', () => { clearTimeout(quiet); resolveLogs(text); });
    stream.on('close', () => { clearTimeout(quiet); resolveLogs(text); });
    stream.on('error', (error) => { clearTimeout(quiet); reject(error); });
  });
}

/**
 * Prints a container's log for a failed test: every warning and error first (pino level >= 40; a start
 * logs ~100 routine lines that would push them out of a plain tail), then the last `tailLines` lines.
 */
export async function printContainerLog(id: string, title: string, tailLines = 60): Promise<void> {
  const lines = (await containerLogs(id)).split('\n').filter((l) => l !== '');
  const notable = lines.filter((l) => /"level":(4|5|6)0\b/.test(l) || !l.startsWith('{')).slice(-100);
  console.error(`--- ${title}: warnings and errors ---\n${notable.join('\n')}\n--- ${title}: last ${tailLines} lines ---\n${lines.slice(-tailLines).join('\n')}`);
}

export interface KcatMetadata {
  brokers: Array<{ id: number; name: string }>;
  topics: Array<{ topic: string; error?: string; partitions: Array<{ partition: number; leader: number; replicas: Array<{ id: number }>; isrs: Array<{ id: number }> }> }>;
}

/** `kcat -L -J`: the cluster's metadata as librdkafka sees it through `bootstrap`. */
export async function kcatMetadata(bootstrap: string, topic?: string): Promise<KcatMetadata> {
  const args = ['-L', '-J', '-b', bootstrap, '-m', '30', ...(topic === undefined ? [] : ['-t', topic])];
  const result = await runOk('kcat', args, { timeoutMs: 60_000 });
  return JSON.parse(result.stdout.toString('utf8')) as KcatMetadata;
}
