import { KafkaError, type ElectionTypeName } from '@tributary/client';
import type { CommandContext } from '../context.ts';
import { classifyElection, electionReport } from '../partitions.ts';

/** Which partitions to elect: every partition, or one topic's (all of them, or the listed ones). */
export type ElectionScope = { kind: 'all' } | { kind: 'topic'; topic: string; partitions: number[] | null };

/**
 * Preferred or unclean leader elections through the controller, reported per partition like
 * kafka-leader-election.sh. Exits 1 when any partition could not be elected (ELECTION_NOT_NEEDED is fine).
 */
export async function partitionElectLeaders(ctx: CommandContext, args: { type: ElectionTypeName; scope: ElectionScope }): Promise<void> {
  const client = ctx.client();
  let partitions: { topic: string; partition: number }[] | null = null;
  if (args.scope.kind === 'topic') {
    const { topic } = args.scope;
    let indexes = args.scope.partitions;
    if (indexes === null) {
      const md = await client.metadata([topic]);
      const t = md.topics.find((x) => x.name === topic);
      if (t === undefined || t.errorCode !== 0) throw new KafkaError(t?.errorCode ?? 3, t?.errorName ?? 'UNKNOWN_TOPIC_OR_PARTITION', `${t?.errorName ?? 'UNKNOWN_TOPIC_OR_PARTITION'}: topic ${topic}`);
      indexes = t.partitions.map((p) => p.partition);
    }
    partitions = indexes.map((partition) => ({ topic, partition }));
  }
  const results = await client.electLeaders(args.type, partitions, { timeoutMs: ctx.requestTimeoutMs });
  const lines = results.map(classifyElection);
  if (ctx.json) ctx.outJson({ electionType: args.type, results: lines });
  else for (const line of electionReport(args.type, lines)) ctx.out(line);
  const failed = results.filter((r) => r.error !== null && classifyElection(r).outcome === 'failed');
  if (failed.length > 0) {
    const first = failed[0]!.error!;
    throw new KafkaError(first.code, first.name, `${first.name}: ${failed.length} of ${results.length} partitions could not be elected (${args.type})`);
  }
}
