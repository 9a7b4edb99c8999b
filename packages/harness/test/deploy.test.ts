/**
 * deploy/ checked without a container runtime: the Kubernetes manifests against the Kubernetes JSON
 * schemas (kubernetes-models), the compose files' structure and every KAFKA_* variable against the node's
 * own config loader, and the Dockerfile's shape (including its shell-free health check, run for real).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { brokerConfigDefs } from '@tributary/broker';
import { configFromEnv, loadConfig } from '@tributary/server';
import { Service } from 'kubernetes-models/v1';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const root = new URL('../../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const knownKeys = new Set(brokerConfigDefs.map((d) => d.name));

type Obj = Record<string, any>;

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/Service': Service,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

function k8sDocs(): { file: string; doc: Obj }[] {
  const dir = new URL('deploy/k8s/', root);
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  expect(files).toEqual(['brokers.yaml', 'controllers.yaml']);
  return files.flatMap((file) => parseAllDocuments(readFileSync(new URL(file, dir), 'utf8')).map((d) => {
    expect(d.errors, file).toEqual([]);
    return { file, doc: d.toJS() as Obj };
  }));
}

function envOf(container: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env as Obj[]) if (typeof e.value === 'string') env[e.name as string] = e.value;
  return env;
}

function expectKnownKafkaEnv(where: string, env: Record<string, unknown>): void {
  const asStrings = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
  for (const key of Object.keys(configFromEnv(asStrings))) expect(knownKeys.has(key), `${where}: ${key} is not a Tributary config`).toBe(true);
}

describe('deploy/k8s', () => {
  it('every manifest validates against the Kubernetes schema of its kind', () => {
    const docs = k8sDocs();
    expect(docs.map(({ doc }) => `${doc.kind}/${doc.metadata.name}`).sort()).toEqual([
      'PodDisruptionBudget/tributary-broker', 'PodDisruptionBudget/tributary-controller',
      'Service/tributary-bootstrap', 'Service/tributary-brokers', 'Service/tributary-controllers',
      'StatefulSet/tributary-broker', 'StatefulSet/tributary-controller',
    ]);
    for (const { file, doc } of docs) {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
      expect(Model, `${file}: no schema for ${doc.apiVersion} ${doc.kind}`).toBeDefined();
      expect(() => new Model!(doc).validate(), `${file}: ${doc.kind}/${doc.metadata.name}`).not.toThrow();
    }
  });

  it('the schema check has teeth: a broken StatefulSet is refused', () => {
    const sts = k8sDocs().find(({ doc }) => doc.kind === 'StatefulSet')!.doc;
    expect(() => new StatefulSet({ ...sts, spec: { ...sts.spec, replicas: 'three' } }).validate()).toThrow();
    const { selector: _selector, ...noSelector } = sts.spec;
    expect(() => new StatefulSet({ ...sts, spec: noSelector }).validate()).toThrow();
  });

  it('StatefulSets have a headless Service, probes, PVC templates, a PDB, and the image user', () => {
    const docs = k8sDocs().map(({ doc }) => doc);
    const uid = Number(/--uid (\d+)/.exec(read('deploy/Dockerfile'))![1]);
    for (const sts of docs.filter((d) => d.kind === 'StatefulSet')) {
      const name = sts.metadata.name as string;
      const svc = docs.find((d) => d.kind === 'Service' && d.metadata.name === sts.spec.serviceName);
      expect(svc, `${name}: serviceName`).toBeDefined();
      expect(svc!.spec.clusterIP).toBe('None');
      expect(svc!.spec.selector).toEqual(sts.spec.selector.matchLabels);
      expect(sts.spec.template.metadata.labels).toMatchObject(sts.spec.selector.matchLabels);
      const pdb = docs.find((d) => d.kind === 'PodDisruptionBudget' && d.metadata.name === name);
      expect(pdb?.spec.selector.matchLabels, `${name}: PDB`).toEqual(sts.spec.selector.matchLabels);
      expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
      expect(sts.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: uid, fsGroup: uid });
      const [container] = sts.spec.template.spec.containers as Obj[];
      expect(container!.readinessProbe.tcpSocket.port).toBe(container!.ports[0].name);
      expect(container!.volumeMounts).toEqual([{ name: 'data', mountPath: '/var/lib/tributary' }]);
      const env = envOf(container!);
      expect(env.KAFKA_LOG_DIRS).toBe('/var/lib/tributary');
      expectKnownKafkaEnv(name, env);
      // The voters named are the controller StatefulSet's pods, by their stable DNS names.
      expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS!.split(',')).toEqual([0, 1, 2].map((i) => `${i}@tributary-controller-${i}.tributary-controllers.$(POD_NAMESPACE).svc.cluster.local:9093`));
    }
  });
});

/** Compose's `${VAR:-default}` interpolation with no variable set: every default in place. */
function interpolateDefaults(text: string): string {
  return text.replace(/\$\{([A-Z0-9_]+):-([^}]*)\}/g, (_match, _name: string, fallback: string) => fallback);
}

describe('deploy/compose', () => {
  const compose = (name: string): Obj => parse(interpolateDefaults(read(`deploy/compose/${name}`)), { merge: true }) as Obj;

  it('every file takes its image from TRIBUTARY_IMAGE, default tributary:latest, and has no other variable without a default', () => {
    for (const name of ['single-node.yml', 'three-combined.yml', 'three-controllers-three-brokers.yml']) {
      const text = read(`deploy/compose/${name}`).split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n');
      expect(text, name).toContain('image: ${TRIBUTARY_IMAGE:-tributary:latest}');
      // A bare $VAR or ${VAR} would be empty when unset: compose would start a broken cluster.
      expect(text.replace(/\$\{[A-Z0-9_]+:-[^}]*\}/g, ''), name).not.toMatch(/\$/);
    }
  });

  it('single-node.yml is the tutorial file with only the image changed, and the node loader accepts it', () => {
    const file = compose('single-node.yml');
    expect(Object.keys(file.services)).toEqual(['broker']);
    const broker = file.services.broker;
    expect(broker).toMatchObject({ image: 'tributary:latest', container_name: 'broker', ports: ['9092:9092'] });
    expect(broker.environment).toEqual({
      KAFKA_NODE_ID: 1,
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://broker:9092,CONTROLLER://broker:9093',
      KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://localhost:9092',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@broker:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: 1,
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: 1,
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: 1,
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: 0,
      KAFKA_NUM_PARTITIONS: 3,
    });
    expectKnownKafkaEnv('single-node', broker.environment);
    // With the image's own ENV underneath, as the container sees it.
    const env = { KAFKA_LOG_DIRS: '/var/lib/tributary', ...Object.fromEntries(Object.entries(broker.environment).map(([k, v]) => [k, String(v)])) };
    const config = loadConfig({ env });
    expect(config.nodeId).toBe(1);
    expect(config.clientListeners).toEqual([{ name: 'PLAINTEXT', host: 'broker', port: 9092 }]);
    expect(config.int('num.partitions')).toBe(3);
  });

  it('the multi-node files are well formed and use only known configs', () => {
    const combined = compose('three-combined.yml');
    expect(Object.keys(combined.services)).toEqual(['kafka-1', 'kafka-2', 'kafka-3']);
    const split = compose('three-controllers-three-brokers.yml');
    expect(Object.keys(split.services)).toEqual(['controller-1', 'controller-2', 'controller-3', 'broker-1', 'broker-2', 'broker-3']);
    for (const [name, file] of [['three-combined', combined], ['three-controllers-three-brokers', split]] as const) {
      const ids = new Set<number>();
      for (const [service, def] of Object.entries(file.services as Record<string, Obj>)) {
        expect(def.image, `${name}/${service}`).toBe('tributary:latest');
        expectKnownKafkaEnv(`${name}/${service}`, def.environment);
        ids.add(def.environment.KAFKA_NODE_ID as number);
        expect(def.volumes[0]).toMatch(/:\/var\/lib\/tributary$/);
        expect(Object.keys(file.volumes)).toContain((def.volumes[0] as string).split(':')[0]);
      }
      expect(ids.size).toBe(Object.keys(file.services).length);
    }
    // The node's own loader accepts every node of both files, with the image's ENV underneath.
    for (const def of [...Object.values(combined.services as Record<string, Obj>), ...Object.values(split.services as Record<string, Obj>)]) {
      expect(() => loadConfig({ env: { KAFKA_LOG_DIRS: '/var/lib/tributary', ...Object.fromEntries(Object.entries(def.environment).map(([k, v]) => [k, String(v)])) } })).not.toThrow();
    }
  });

  it('three-controllers-three-brokers.yml: controllers run only the quorum, brokers serve clients on their published ports', () => {
    const split = compose('three-controllers-three-brokers.yml');
    const env = (service: string): Record<string, string> => Object.fromEntries(Object.entries(split.services[service].environment as Obj).map(([k, v]) => [k, String(v)]));
    const voters = '1@controller-1:9093,2@controller-2:9093,3@controller-3:9093';
    for (const id of [1, 2, 3]) {
      const c = loadConfig({ env: { KAFKA_LOG_DIRS: '/var/lib/tributary', ...env(`controller-${id}`) } });
      expect(c.nodeId).toBe(id);
      expect(c.clientListeners).toEqual([]);
      expect(env(`controller-${id}`).KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(voters);
      // The image's default advertised listener (PLAINTEXT://localhost:9092) must not reach a controller.
      expect(env(`controller-${id}`).KAFKA_ADVERTISED_LISTENERS).toBe('');
    }
    [29092, 29093, 29094].forEach((port, i) => {
      const service = `broker-${i + 1}`;
      const b = loadConfig({ env: { KAFKA_LOG_DIRS: '/var/lib/tributary', ...env(service) } });
      expect(b.nodeId).toBe(4 + i);
      expect(b.clientListeners).toEqual([{ name: 'PLAINTEXT', host: service, port: 9092 }, { name: 'EXTERNAL', host: '', port }]);
      expect(split.services[service].ports).toEqual([`${port}:${port}`]);
      expect(env(service).KAFKA_ADVERTISED_LISTENERS).toBe(`PLAINTEXT://${service}:9092,EXTERNAL://localhost:${port}`);
      expect(env(service).KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(voters);
      expect(b.int('min.insync.replicas')).toBe(2);
      expect(b.int('default.replication.factor')).toBe(3);
    });
  });
});

describe('deploy/Dockerfile', () => {
  const dockerfile = read('deploy/Dockerfile');

  it('has the base image argument, pinned pnpm, user, volume, ports and entrypoint', () => {
    expect(dockerfile).toMatch(/^ARG BASE_IMAGE=node:24-slim$/m);
    expect(dockerfile).toMatch(/^FROM \$\{BASE_IMAGE\}$/m);
    const rootManifest = JSON.parse(read('package.json')) as { packageManager: string };
    expect(rootManifest.packageManager).toBe(`pnpm@${/^ARG PNPM_VERSION=(\S+)$/m.exec(dockerfile)![1]}`);
    expect(dockerfile).toMatch(/pnpm install --frozen-lockfile/);
    expect(dockerfile).toMatch(/^USER tributary$/m);
    expect(dockerfile).toMatch(/^VOLUME \["\/var\/lib\/tributary"\]$/m);
    expect(dockerfile).toMatch(/KAFKA_LOG_DIRS=\/var\/lib\/tributary/);
    expect(dockerfile).toMatch(/^EXPOSE 9092 9093$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "packages\/server\/bin\/tributary.js"\]$/m);
    expect(existsSync(new URL('packages/server/bin/tributary.js', root))).toBe(true);
  });

  it('copies every workspace manifest before the frozen install (a new package must be added there)', () => {
    const dirs = [...readdirSync(new URL('packages/', root)).filter((d) => existsSync(new URL(`packages/${d}/package.json`, root))).map((d) => `packages/${d}`), 'e2e'];
    for (const dir of dirs) expect(dockerfile, `deploy/Dockerfile must COPY ${dir}/package.json`).toContain(`COPY ${dir}/package.json ${dir}/`);
  });

  it('keeps node_modules and data out of the build context', () => {
    const ignore = read('deploy/Dockerfile.dockerignore').split('\n');
    for (const entry of ['**/node_modules', '.git', 'data']) expect(ignore).toContain(entry);
  });

  it('its HEALTHCHECK needs no shell and tells a listening port from a closed one', async () => {
    const line = /^\s*CMD (\[.*\])$/m.exec(dockerfile.slice(dockerfile.indexOf('HEALTHCHECK')))![1]!;
    const argv = JSON.parse(line) as string[];
    expect(argv.slice(0, 2)).toEqual(['node', '-e']);
    const server = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const run = (listeners: string): number | null => spawnSync(process.execPath, argv.slice(1), { env: { KAFKA_LISTENERS: listeners }, timeout: 10_000 }).status;
    try {
      expect(run(`PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:1`)).toBe(0);
      expect(run(`CONTROLLER://127.0.0.1:1,PLAINTEXT://:${port}`)).toBe(0);
      // A controller-only node has no client listener: its controller listener is the one checked.
      expect(run(`CONTROLLER://127.0.0.1:${port}`)).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(run(`PLAINTEXT://127.0.0.1:${port}`)).toBe(1);
    expect(run(`CONTROLLER://127.0.0.1:${port}`)).toBe(1);
  });
});
