/**
 * What the cluster says about itself over the Kafka protocol: which brokers each broker's Metadata lists,
 * the controller, partition leaders, and the metadata quorum (DescribeQuorum, when the broker has it).
 */
import { KafkaClient, UnsupportedVersionError, type QuorumInfo } from '../../packages/client/src/index.ts';

const PROBE_TIMEOUT_MS = 3000;

function client(bootstrap: string): KafkaClient {
  return new KafkaClient({ bootstrapServers: bootstrap, clientId: 'pnpm-cluster', requestTimeoutMs: PROBE_TIMEOUT_MS, connectTimeoutMs: PROBE_TIMEOUT_MS, maxAttempts: 1 });
}

/** The broker ids one broker's Metadata lists (that broker alone is asked). */
export async function brokersSeenBy(address: string): Promise<number[]> {
  const c = client(address);
  try {
    const md = await c.metadata([]);
    return md.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
  } finally {
    await c.close();
  }
}

export interface ClusterView {
  /** The broker that answered. */
  answeredBy: string;
  clusterId: string | null;
  controllerId: number;
  brokers: { nodeId: number; host: string; port: number; rack: string | null }[];
  /** Partitions led by each broker id (-1: partitions without a leader). */
  leaderCounts: Record<string, number>;
  topics: number;
  partitions: number;
  /** DescribeQuorum's answer, or why there is none. */
  quorum: QuorumInfo | { unavailable: string };
}

/** Asks the first broker of `bootstrap` that answers. */
export async function clusterView(bootstrap: string): Promise<ClusterView> {
  const c = client(bootstrap);
  try {
    const md = await c.metadata();
    const leaderCounts: Record<string, number> = {};
    let partitions = 0;
    for (const t of md.topics) {
      for (const p of t.partitions) {
        partitions++;
        const key = String(p.leader < 0 ? -1 : p.leader);
        leaderCounts[key] = (leaderCounts[key] ?? 0) + 1;
      }
    }
    let quorum: ClusterView['quorum'];
    try {
      quorum = await c.describeQuorum();
    } catch (err) {
      // Until brokers forward DescribeQuorum to the controller quorum they do not advertise it.
      quorum = { unavailable: err instanceof UnsupportedVersionError ? 'the broker does not support DescribeQuorum yet' : (err as Error).message };
    }
    const answered = md.brokers.find((b) => bootstrap.split(',').includes(`${b.host}:${b.port}`));
    return {
      answeredBy: answered === undefined ? bootstrap.split(',')[0]! : `${answered.host}:${answered.port}`,
      clusterId: md.clusterId,
      controllerId: md.controllerId,
      brokers: [...md.brokers].sort((a, b) => a.nodeId - b.nodeId),
      leaderCounts,
      topics: md.topics.length,
      partitions,
      quorum,
    };
  } finally {
    await c.close();
  }
}
