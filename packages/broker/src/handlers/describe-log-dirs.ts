import { statfs } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrorCode } from '@tributary/protocol';
import type { Broker, RequestContext } from '../broker.ts';
import type { Partition } from '../partition.ts';
import { messageOf } from './common.ts';

/** The volume holding a log dir; -1 (the schema's "unknown") when the file system cannot say. */
export interface VolumeBytes {
  totalBytes: number;
  usableBytes: number;
}

export async function volumeOf(dir: string): Promise<VolumeBytes> {
  const s = await statfs(dir);
  // bavail, not bfree: what an unprivileged writer (the broker) can still use, as Java's getUsableSpace.
  return { totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize };
}

/**
 * DescribeLogDirs (key 35) v0-4: this broker's one log dir (its data dir) with every partition replica it hosts,
 * leader or follower (a replica being added included), and the replica's size on disk, so tools can watch a new
 * replica copy its data during a reassignment. Request topics filter (null: all); a topic or partition this
 * broker does not host is left out, as Kafka does. The volume's sizes (v4) come from statfs.
 */
export async function handleDescribeLogDirs(broker: Broker, _ctx: RequestContext, body: any): Promise<object> {
  return describeLogDirs(broker, body, volumeOf);
}

export async function describeLogDirs(broker: Broker, body: any, volume: (dir: string) => Promise<VolumeBytes>): Promise<object> {
  const logDir = resolve(broker.replicas.dataDir);
  const wanted = wantedPartitions(body.topics as { topic: string; partitions: number[] }[] | null);
  const byTopic = new Map<string, Partition[]>();
  for (const p of broker.replicas.allPartitions()) {
    if (wanted !== null && wanted.get(p.topic)?.has(p.index) !== true) continue;
    let list = byTopic.get(p.topic);
    if (list === undefined) byTopic.set(p.topic, (list = []));
    list.push(p);
  }
  const topics = [...byTopic.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, partitions]) => ({
      name,
      partitions: partitions
        .sort((a, b) => a.index - b.index)
        .map((p) => ({
          partitionIndex: p.index,
          partitionSize: p.log.sizeInBytes,
          // A follower's state keeps only the leader's high watermark capped by its own log end, not the leader's
          // log end, so its lag is not known here: 0, as for a leader (whose own log is the reference).
          offsetLag: 0,
          isFutureKey: false,
        })),
    }));
  let sizes: VolumeBytes = { totalBytes: -1, usableBytes: -1 };
  try {
    sizes = await volume(logDir);
  } catch (err) {
    broker.logger.warn({ logDir, err: messageOf(err) }, 'statfs of the log dir failed; DescribeLogDirs answers unknown volume sizes (-1)');
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    results: [{ errorCode: ErrorCode.NONE, logDir, topics, totalBytes: sizes.totalBytes, usableBytes: sizes.usableBytes }],
  };
}

/** Request topics as topic -> partition indexes, or null for every partition. */
function wantedPartitions(topics: { topic: string; partitions: number[] }[] | null): Map<string, Set<number>> | null {
  if (topics === null) return null;
  const wanted = new Map<string, Set<number>>();
  for (const t of topics) {
    let set = wanted.get(t.topic);
    if (set === undefined) wanted.set(t.topic, (set = new Set()));
    for (const index of t.partitions) set.add(index);
  }
  return wanted;
}
