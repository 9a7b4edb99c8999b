// The container cluster: its plan and partition rules (pure), then for real when a Docker engine, the image
// (scripts/setup-docker.sh) and root are here (skipped otherwise, the reason printed): a controller and two brokers
// in containers, partitions between containers and between the host's clients and a broker checked by connecting
// through them, rules put back after a restart, pause/resume with the freezer, kill and restart, and a teardown
// that leaves no container, volume or network.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaClient } from '@tributary/client';
import { CONTAINER_CHAIN, checkContainerTools, ContainerCluster, containerPartitionRules, planContainerNodes } from '../src/index.ts';

const image = process.env.TRIB_DOCKER_IMAGE ?? 'tributary:test';

describe('planContainerNodes', () => {
  const nodes = planContainerNodes({ controllers: 3, brokers: 3, runId: 'r1', clusterId: 'cid', env: { KAFKA_NUM_PARTITIONS: '6' } }, [30001, 30002, 30003]);

  it('names controllers c1..c3 (ids 1-3, controller only) and brokers b1..b3 (ids 4-6), each with its own container and volume', () => {
    expect(nodes.map((n) => [n.name, n.id, n.roles.join('+'), n.container, n.volume, n.clientPort])).toEqual([
      ['c1', 1, 'controller', 'trib-r1-c1', 'trib-r1-c1-data', null],
      ['c2', 2, 'controller', 'trib-r1-c2', 'trib-r1-c2-data', null],
      ['c3', 3, 'controller', 'trib-r1-c3', 'trib-r1-c3-data', null],
      ['b1', 4, 'broker', 'trib-r1-b1', 'trib-r1-b1-data', 30001],
      ['b2', 5, 'broker', 'trib-r1-b2', 'trib-r1-b2-data', 30002],
      ['b3', 6, 'broker', 'trib-r1-b3', 'trib-r1-b3-data', 30003],
    ]);
  });

  it('gives the compose file\'s settings: controllers run only the quorum, brokers advertise their published port', () => {
    const c2 = nodes.find((n) => n.name === 'c2')!.env;
    expect(c2).toMatchObject({ KAFKA_NODE_ID: '2', KAFKA_PROCESS_ROLES: 'controller', KAFKA_LISTENERS: 'CONTROLLER://c2:9093', KAFKA_ADVERTISED_LISTENERS: '', KAFKA_CONTROLLER_QUORUM_VOTERS: '1@c1:9093,2@c2:9093,3@c3:9093', KAFKA_CLUSTER_ID: 'cid' });
    const b3 = nodes.find((n) => n.name === 'b3')!.env;
    expect(b3).toMatchObject({
      KAFKA_NODE_ID: '6',
      KAFKA_PROCESS_ROLES: 'broker',
      KAFKA_LISTENERS: 'PLAINTEXT://b3:9092,EXTERNAL://:30003',
      KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://b3:9092,EXTERNAL://127.0.0.1:30003',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@c1:9093,2@c2:9093,3@c3:9093',
      KAFKA_BROKER_SESSION_TIMEOUT_MS: '3000',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '3',
      // The caller's variables come last and win.
      KAFKA_NUM_PARTITIONS: '6',
    });
  });

  it('refuses impossible shapes and run ids that cannot name a container', () => {
    expect(() => planContainerNodes({ controllers: 0, brokers: 1, runId: 'r', clusterId: 'c', env: {} }, [1])).toThrow(/controllers must be/);
    expect(() => planContainerNodes({ controllers: 1, brokers: 2, runId: 'r', clusterId: 'c', env: {} }, [1])).toThrow(/needs 2 client ports/);
    expect(() => planContainerNodes({ controllers: 1, brokers: 1, runId: 'R_1', clusterId: 'c', env: {} }, [1])).toThrow(/run id/);
  });
});

describe('containerPartitionRules', () => {
  const addresses = new Map([['c1', '10.0.0.1'], ['b1', '10.0.0.4'], ['b2', '10.0.0.5']]);
  const rule = (flag: '-s' | '-d', address: string): string[] => ['-A', CONTAINER_CHAIN, flag, address, '-j', 'DROP'];

  it('cuts both ways: each side drops packets to and from the other, in its own namespace', () => {
    const rules = containerPartitionRules([['c1'], ['b1', 'b2']], false, addresses, '10.0.0.254');
    expect(rules.get('c1')).toEqual([rule('-d', '10.0.0.4'), rule('-s', '10.0.0.4'), rule('-d', '10.0.0.5'), rule('-s', '10.0.0.5')]);
    expect(rules.get('b1')).toEqual([rule('-s', '10.0.0.1'), rule('-d', '10.0.0.1')]);
    expect(rules.get('b2')).toEqual([rule('-s', '10.0.0.1'), rule('-d', '10.0.0.1')]);
  });

  it('one way: only packets from side A to side B are dropped', () => {
    const rules = containerPartitionRules([['b1'], ['b2']], true, addresses, '10.0.0.254');
    expect(rules.get('b1')).toEqual([rule('-d', '10.0.0.5')]);
    expect(rules.get('b2')).toEqual([rule('-s', '10.0.0.4')]);
    expect(rules.has('c1')).toBe(false);
  });

  it('client stands for the gateway the host\'s clients come from; its half is enforced on the node', () => {
    const rules = containerPartitionRules([['client'], ['b1']], false, addresses, '10.0.0.254');
    expect([...rules.keys()]).toEqual(['b1']);
    expect(rules.get('b1')).toEqual([rule('-s', '10.0.0.254'), rule('-d', '10.0.0.254')]);
  });

  it('names the unknown node, and refuses a node on both sides', () => {
    expect(() => containerPartitionRules([['b9'], ['b1']], false, addresses, 'g')).toThrow(/"b9", which the cluster does not have \(it has c1, b1, b2, and client\)/);
    expect(() => containerPartitionRules([['b1'], ['b1']], false, addresses, 'g')).toThrow(/both sides/);
  });
});

const unavailable = await (async (): Promise<string | null> => {
  const problems = await checkContainerTools();
  if (problems.length > 0) return problems.join('; ');
  return await new Promise((resolveImage) => execFile('docker', ['image', 'inspect', image], (error) => resolveImage(error === null ? null : `image ${image} is missing: run scripts/setup-docker.sh`)));
})();
if (unavailable !== null) console.warn(`[container-cluster] skipping the live tests: ${unavailable}`);

/** Exit code of a TCP connect from inside `container` to host:port (0 connected, 1 refused or timed out). */
async function connectFrom(container: string, host: string, port: number): Promise<number> {
  const script = `const s=require('node:net').connect(${port},'${host}');s.setTimeout(2000,()=>process.exit(1));s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1))`;
  return await new Promise((resolveCode) => execFile('docker', ['exec', container, 'node', '-e', script], { timeout: 30_000 }, (error) => resolveCode(error === null ? 0 : typeof error.code === 'number' ? error.code : -1)));
}

async function clientReaches(bootstrap: string): Promise<boolean> {
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

async function dockerInspect(container: string, format: string): Promise<string> {
  return await new Promise((resolveOut, reject) => execFile('docker', ['inspect', '--format', format, container], (error, stdout) => (error === null ? resolveOut(stdout.trim()) : reject(error))));
}

describe.skipIf(unavailable !== null)('ContainerCluster (real containers, iptables in their namespaces)', () => {
  let cluster: ContainerCluster | null = null;
  const live = (): ContainerCluster => {
    if (cluster === null) throw new Error('cluster not started (see the beforeAll error)');
    return cluster;
  };

  beforeAll(async () => {
    cluster = await ContainerCluster.start({ controllers: 1, brokers: 2, image });
  }, 240_000);
  afterAll(async () => {
    if (cluster === null) return;
    await cluster.destroy();
    expect(await cluster.leftovers()).toEqual([]);
  }, 120_000);

  it('starts a controller and two brokers the host\'s clients reach on the published ports', async () => {
    expect(live().names).toEqual(['c1', 'b1', 'b2']);
    expect(live().names.map((n) => live().state(n))).toEqual(['running', 'running', 'running']);
    expect(await clientReaches(live().bootstrap)).toBe(true);
    expect(await connectFrom(live().info('b1').container, 'b2', 9092)).toBe(0);
  });

  it('a partition between containers cuts both directions, survives a restart of one side, and heals', async () => {
    const c = live();
    await c.partition(['b1'], ['b2', 'c1']);
    expect(await connectFrom(c.info('b1').container, 'b2', 9092)).toBe(1);
    expect(await connectFrom(c.info('b2').container, 'b1', 9092)).toBe(1);
    expect(await connectFrom(c.info('b2').container, 'c1', 9093)).toBe(0);
    expect(await c.rules('b1')).toHaveLength(4);
    // A restarted container has a new namespace: the partition is put back in it.
    await c.stop(['b2']);
    expect(c.state('b2')).toBe('stopped');
    await c.restart(['b2']);
    expect(await c.rules('b2')).toEqual([`-A ${CONTAINER_CHAIN} -s ${c.address('b1')}/32 -j DROP`, `-A ${CONTAINER_CHAIN} -d ${c.address('b1')}/32 -j DROP`]);
    expect(await connectFrom(c.info('b2').container, 'b1', 9092)).toBe(1);
    await c.heal();
    expect(await c.rules('b1')).toEqual([]);
    expect(await connectFrom(c.info('b1').container, 'b2', 9092)).toBe(0);
    // One way, added to nothing: only b1's packets to c1 are dropped (TCP cannot tell the directions apart, the rules can).
    await c.partition(['b1'], ['c1'], true);
    expect(await c.rules('b1')).toEqual([`-A ${CONTAINER_CHAIN} -d ${c.address('c1')}/32 -j DROP`]);
    expect(await c.rules('c1')).toEqual([`-A ${CONTAINER_CHAIN} -s ${c.address('b1')}/32 -j DROP`]);
    expect(await c.rules('b2')).toEqual([]);
    expect(await connectFrom(c.info('b1').container, 'c1', 9093)).toBe(1);
    expect(await connectFrom(c.info('b2').container, 'c1', 9093)).toBe(0);
    await c.heal();
    expect(await c.rules('c1')).toEqual([]);
  }, 120_000);

  it('a partition between the host\'s clients and a broker cuts the client off from it alone, and heals', async () => {
    const c = live();
    const b1 = `127.0.0.1:${c.info('b1').clientPort}`;
    const b2 = `127.0.0.1:${c.info('b2').clientPort}`;
    await c.partition(['client'], ['b1']);
    expect(await clientReaches(b1)).toBe(false);
    expect(await clientReaches(b2)).toBe(true);
    await c.heal();
    expect(await clientReaches(b1)).toBe(true);
  }, 60_000);

  it('pause freezes the container and resume thaws it; kill stops it at once and restart brings it back', async () => {
    const c = live();
    const container = c.info('b2').container;
    await c.pause(['b2']);
    expect(c.state('b2')).toBe('paused');
    expect(await dockerInspect(container, '{{.State.Paused}}')).toBe('true');
    await c.resume(['b2']);
    expect(await dockerInspect(container, '{{.State.Paused}}')).toBe('false');
    await c.kill(['b2']);
    expect(c.state('b2')).toBe('stopped');
    // SIGKILL: exit code 137, no graceful shutdown.
    expect(await dockerInspect(container, '{{.State.Running}} {{.State.ExitCode}}')).toBe('false 137');
    await c.restart(['b2']);
    expect(c.state('b2')).toBe('running');
    expect(await clientReaches(`127.0.0.1:${c.info('b2').clientPort}`)).toBe(true);
  }, 120_000);
});
