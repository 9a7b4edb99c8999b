import type { KafkaConnection } from '@tributary/client';
import { ApiKey } from '@tributary/protocol';

const COORDINATOR_LOAD_IN_PROGRESS = 14;

/**
 * Waits until a group's coordinator answers, as Kafka clients do before any group request: the first
 * FindCoordinator has `__consumer_offsets` created (COORDINATOR_NOT_AVAILABLE until it has a leader), and
 * the coordinator then loads its partition (COORDINATOR_LOAD_IN_PROGRESS meanwhile).
 */
export async function awaitGroupCoordinator(conn: KafkaConnection, groupId: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found: any = await conn.request(ApiKey.FindCoordinator, 3, { key: groupId, keyType: 0 });
    if (found.errorCode === 0) {
      const fetched: any = await conn.request(ApiKey.OffsetFetch, 7, { groupId, topics: null, requireStable: false });
      if (fetched.errorCode !== COORDINATOR_LOAD_IN_PROGRESS) return;
    }
    if (Date.now() > deadline) throw new Error(`no coordinator for group ${groupId} after ${timeoutMs} ms (last FindCoordinator error ${found.errorCode})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
