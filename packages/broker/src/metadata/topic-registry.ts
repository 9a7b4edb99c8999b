/**
 * The single-node topic registry: names, ids, partition counts and config overrides, persisted
 * atomically as one JSON file (`<data dir>/__tributary/topics.json`). The controller quorum will
 * replace it with the replicated metadata log; until then this is the one place topic metadata
 * changes, and every change is durable before it is acknowledged.
 *
 * Concurrency: callers serialize mutations through `#mutate` (one write at a time).
 */
import { assert } from '@tributary/common';
import { joinPath, writeFileAtomic, type FileSystem } from '@tributary/storage';
import type { TopicConfigOverrides } from '../config/topic-config.ts';

export interface TopicRecord {
  name: string;
  /** Kafka-style topic id: 16 random bytes, base64url without padding (22 chars). */
  topicId: string;
  numPartitions: number;
  configs: TopicConfigOverrides;
  internal: boolean;
}

interface RegistryFile {
  version: 1;
  clusterId: string;
  nodeId: number;
  topics: TopicRecord[];
  nextProducerIdBlockStart: number;
}

export const MAX_TOPICS = 100_000;

export class TopicRegistry {
  readonly #fs: FileSystem;
  readonly #path: string;
  readonly #topics = new Map<string, TopicRecord>();
  #clusterId: string;
  #nodeId: number;
  #nextProducerIdBlockStart: number;
  #writeChain: Promise<void> = Promise.resolve();

  private constructor(fs: FileSystem, path: string, file: RegistryFile) {
    this.#fs = fs;
    this.#path = path;
    this.#clusterId = file.clusterId;
    this.#nodeId = file.nodeId;
    this.#nextProducerIdBlockStart = file.nextProducerIdBlockStart;
    for (const t of file.topics) this.#topics.set(t.name, t);
  }

  /** Loads the registry, creating it on first start. A cluster id mismatch is refused: the data belongs elsewhere. */
  static async open(opts: { fs: FileSystem; dataDir: string; nodeId: number; clusterId: string | null; newClusterId: () => string }): Promise<TopicRegistry> {
    const dir = joinPath(opts.dataDir, '__tributary');
    await opts.fs.mkdir(dir);
    const path = joinPath(dir, 'topics.json');
    let file: RegistryFile;
    if (await opts.fs.exists(path)) {
      const text = (await opts.fs.readFile(path)).toString('utf8');
      try {
        file = JSON.parse(text) as RegistryFile;
      } catch (err) {
        throw new Error(`metadata file ${path} is not valid JSON (${(err as Error).message}); restore it from a backup or move the data directory aside`);
      }
      if (opts.clusterId !== null && opts.clusterId !== file.clusterId) {
        throw new Error(`data directory ${opts.dataDir} belongs to cluster ${file.clusterId} but cluster.id is ${opts.clusterId}: point log.dirs at this cluster's data`);
      }
      if (file.nodeId !== opts.nodeId) {
        throw new Error(`data directory ${opts.dataDir} belongs to node ${file.nodeId} but node.id is ${opts.nodeId}`);
      }
    } else {
      file = { version: 1, clusterId: opts.clusterId ?? opts.newClusterId(), nodeId: opts.nodeId, topics: [], nextProducerIdBlockStart: 0 };
      await writeFileAtomic(opts.fs, path, Buffer.from(JSON.stringify(file, null, 1)));
    }
    return new TopicRegistry(opts.fs, path, file);
  }

  get clusterId(): string {
    return this.#clusterId;
  }

  get(name: string): TopicRecord | undefined {
    return this.#topics.get(name);
  }

  byId(topicId: string): TopicRecord | undefined {
    for (const t of this.#topics.values()) if (t.topicId === topicId) return t;
    return undefined;
  }

  all(): TopicRecord[] {
    return [...this.#topics.values()];
  }

  get size(): number {
    return this.#topics.size;
  }

  async create(topic: TopicRecord): Promise<void> {
    await this.#mutate(() => {
      assert(!this.#topics.has(topic.name), `topic ${topic.name} already exists`);
      assert(this.#topics.size < MAX_TOPICS, 'too many topics');
      this.#topics.set(topic.name, topic);
    });
  }

  async remove(name: string): Promise<void> {
    await this.#mutate(() => {
      this.#topics.delete(name);
    });
  }

  async update(name: string, change: (t: TopicRecord) => TopicRecord): Promise<void> {
    await this.#mutate(() => {
      const current = this.#topics.get(name);
      assert(current, `topic ${name} does not exist`);
      this.#topics.set(name, change(current));
    });
  }

  /** Reserves `size` producer ids durably before any of them is handed out. */
  async allocateProducerIdBlock(size: number): Promise<number> {
    let start = 0;
    await this.#mutate(() => {
      start = this.#nextProducerIdBlockStart;
      this.#nextProducerIdBlockStart += size;
    });
    return start;
  }

  /** Applies a change in memory and persists; on a failed write the change is rolled back. */
  #mutate(change: () => void): Promise<void> {
    const run = async (): Promise<void> => {
      const topicsBefore = new Map(this.#topics);
      const pidBefore = this.#nextProducerIdBlockStart;
      change();
      const file: RegistryFile = {
        version: 1,
        clusterId: this.#clusterId,
        nodeId: this.#nodeId,
        topics: [...this.#topics.values()],
        nextProducerIdBlockStart: this.#nextProducerIdBlockStart,
      };
      try {
        await writeFileAtomic(this.#fs, this.#path, Buffer.from(JSON.stringify(file, null, 1)));
      } catch (err) {
        this.#topics.clear();
        for (const [k, v] of topicsBefore) this.#topics.set(k, v);
        this.#nextProducerIdBlockStart = pidBefore;
        throw err;
      }
    };
    const next = this.#writeChain.then(run, run);
    this.#writeChain = next.catch(() => {});
    return next;
  }
}
