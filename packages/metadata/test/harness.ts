/** A tiny in-memory "controller + log" for tests: applies each operation's records and keeps the log. */
import { seededRng, type Rng } from '@tributary/common';
import {
  applyAll,
  BrokerSessions,
  brokerHeartbeat,
  bytesToUuid,
  ConfigResourceType,
  controllerContext,
  createTopics,
  ErrorCode,
  MetadataImage,
  registerBroker,
  type ConfigResourceTypeCode,
  type ConfigSchema,
  type ControllerContext,
  type ControllerResult,
  type CreatableTopic,
  type MetadataRecord,
  type SessionResult,
} from '../src/index.ts';

interface Def {
  readonly type: 'int' | 'long' | 'boolean' | 'list' | 'string';
  readonly min?: number;
  readonly oneOf?: readonly string[];
  readonly defaultValue: string | null;
}

const topicDefs = new Map<string, Def>([
  ['cleanup.policy', { type: 'list', oneOf: ['delete', 'compact'], defaultValue: 'delete' }],
  ['retention.ms', { type: 'long', min: -1, defaultValue: '604800000' }],
  ['min.insync.replicas', { type: 'int', min: 1, defaultValue: '1' }],
  ['segment.bytes', { type: 'int', min: 14, defaultValue: '1073741824' }],
  ['unclean.leader.election.enable', { type: 'boolean', defaultValue: 'false' }],
  ['compression.type', { type: 'string', oneOf: ['producer', 'gzip', 'zstd'], defaultValue: 'producer' }],
]);
const brokerDefs = new Map<string, Def>([
  ['unclean.leader.election.enable', { type: 'boolean', defaultValue: 'false' }],
  ['log.retention.ms', { type: 'long', min: -1, defaultValue: null }],
  ['log.cleanup.policy', { type: 'list', oneOf: ['delete', 'compact'], defaultValue: 'delete' }],
]);

function valueProblem(key: string, d: Def, raw: string): string | null {
  switch (d.type) {
    case 'int':
    case 'long': {
      if (!/^-?\d+$/.test(raw)) return `Invalid value ${raw} for configuration ${key}: Not a number`;
      if (d.min !== undefined && Number(raw) < d.min) return `Invalid value ${raw} for configuration ${key}: must be at least ${d.min}`;
      return null;
    }
    case 'boolean':
      return /^(true|false)$/i.test(raw) ? null : `Invalid value ${raw} for configuration ${key}: Expected true or false`;
    case 'list':
      for (const item of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
        if (d.oneOf && !d.oneOf.includes(item)) return `Invalid value ${item} for configuration ${key}`;
      }
      return null;
    case 'string':
      return d.oneOf && !d.oneOf.includes(raw) ? `Invalid value ${raw} for configuration ${key}` : null;
  }
}

/** A schema shaped like the broker's topic/broker config definitions (a handful of keys). */
export const testSchema: ConfigSchema = {
  validate(resourceType: ConfigResourceTypeCode, _name: string, configs: ReadonlyMap<string, string>): string | null {
    const defs = resourceType === ConfigResourceType.TOPIC ? topicDefs : brokerDefs;
    for (const [key, value] of configs) {
      const d = defs.get(key);
      if (d === undefined) return `Unknown ${resourceType === ConfigResourceType.TOPIC ? 'topic' : 'broker'} config name: ${key}`;
      const problem = valueProblem(key, d, value);
      if (problem !== null) return problem;
    }
    return null;
  },
  isList(resourceType, key) {
    return (resourceType === ConfigResourceType.TOPIC ? topicDefs : brokerDefs).get(key)?.type === 'list';
  },
  defaultValue(resourceType, key) {
    return (resourceType === ConfigResourceType.TOPIC ? topicDefs : brokerDefs).get(key)?.defaultValue ?? null;
  },
};

export function testContext(seed = 1, overrides: Partial<ControllerContext> = {}): ControllerContext {
  return controllerContext({ rng: seededRng(seed), configSchema: testSchema, ...overrides });
}

/** A deterministic incarnation id per (broker, generation). */
export function incarnation(brokerId: number, generation = 0): string {
  const bytes = new Uint8Array(16);
  bytes[0] = 0x10 + generation;
  bytes[15] = brokerId & 0xff;
  bytes[14] = (brokerId >> 8) & 0xff;
  return bytesToUuid(bytes);
}

export function topic(name: string, numPartitions: number, replicationFactor: number, extra: Partial<CreatableTopic> = {}): CreatableTopic {
  return { name, numPartitions, replicationFactor, assignments: [], configs: [], ...extra };
}

export class TestCluster {
  image: MetadataImage = MetadataImage.EMPTY;
  sessions: BrokerSessions = BrokerSessions.EMPTY;
  readonly log: MetadataRecord[] = [];
  nowMs = 1_000;
  readonly ctx: ControllerContext;
  readonly generations = new Map<number, number>();

  constructor(ctx: ControllerContext = testContext()) {
    this.ctx = ctx;
  }

  get rng(): Rng {
    return this.ctx.rng;
  }

  /** Applies an operation's records (as if committed) and returns its response. */
  commit<R>(result: ControllerResult<R> | SessionResult<R>): R {
    const start = this.log.length;
    this.image = applyAll(this.image, result.records);
    this.log.push(...result.records);
    if ('sessions' in result) this.sessions = result.sessions;
    result.records.forEach((r, i) => {
      if (r.type === 'register-broker') this.sessions = this.sessions.withRegistrationOffset(r.brokerId, r.brokerEpoch, start + i);
    });
    return result.response;
  }

  register(brokerId: number, opts: { rack?: string | null; generation?: number } = {}): number {
    const generation = opts.generation ?? this.generations.get(brokerId) ?? 0;
    this.generations.set(brokerId, generation);
    const response = this.commit(
      registerBroker(
        this.image,
        this.sessions,
        {
          brokerId,
          incarnationId: incarnation(brokerId, generation),
          listeners: [{ name: 'PLAINTEXT', host: `broker-${brokerId}`, port: 9092 }],
          rack: opts.rack ?? null,
          features: [],
        },
        this.nowMs,
        this.ctx,
      ),
    );
    if (response.errorCode !== ErrorCode.NONE) throw new Error(`register ${brokerId}: ${response.errorMessage}`);
    return response.brokerEpoch;
  }

  heartbeat(brokerId: number, opts: { wantFence?: boolean; wantShutDown?: boolean; offset?: number } = {}) {
    const broker = this.image.broker(brokerId);
    return this.commit(
      brokerHeartbeat(
        this.image,
        this.sessions,
        {
          brokerId,
          brokerEpoch: broker?.brokerEpoch ?? -1,
          currentMetadataOffset: opts.offset ?? this.log.length,
          wantFence: opts.wantFence ?? false,
          wantShutDown: opts.wantShutDown ?? false,
        },
        this.nowMs,
        this.ctx,
      ),
    );
  }

  /** Registers and unfences brokers (racks by index when given). */
  addBrokers(ids: readonly number[], racks: readonly (string | null)[] = []): void {
    ids.forEach((id, i) => {
      this.register(id, { rack: racks[i] ?? null });
      const r = this.heartbeat(id);
      if (r.isFenced) throw new Error(`broker ${id} stayed fenced`);
    });
  }

  createTopic(name: string, numPartitions: number, replicationFactor: number, extra: Partial<CreatableTopic> = {}): string {
    const response = this.commit(createTopics(this.image, { topics: [topic(name, numPartitions, replicationFactor, extra)], validateOnly: false }, this.ctx));
    const result = response.topics[0]!;
    if (result.errorCode !== ErrorCode.NONE) throw new Error(`create ${name}: ${result.errorMessage}`);
    return result.topicId;
  }

  partitions(name: string) {
    return this.image.topic(name)!.partitions;
  }
}
