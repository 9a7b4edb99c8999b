import { KafkaError, type LogDirDescription } from '@tributary/client';
import { UsageError, type CommandContext } from '../context.ts';
import { table } from '../format.ts';
import { formatBytes } from '../reassign.ts';

export interface LogDirsArgs {
  /** Broker ids to ask; null: every broker the cluster lists. */
  brokers: number[] | null;
  /** Topics to describe (all their partitions); null: every replica. */
  topics: string[] | null;
}

/** More brokers than this are not asked one by one (each answers only for itself). */
const MAX_BROKERS = 10_000;

interface BrokerAnswer {
  broker: number;
  error: string | null;
  logDirs: LogDirDescription[];
}

/**
 * `trib log-dirs describe`, like kafka-log-dirs.sh --describe: asks each broker (DescribeLogDirs goes to the broker
 * itself) for its log dirs, the volume's total and usable bytes, and every partition replica in them with its size
 * on disk. A broker that does not answer is reported and makes the command fail after the others are printed.
 */
export async function logDirsDescribe(ctx: CommandContext, args: LogDirsArgs): Promise<void> {
  const client = ctx.client();
  const known = (await client.metadata([])).brokers.map((b) => b.nodeId).sort((a, b) => a - b);
  if (args.brokers !== null) {
    const unknown = args.brokers.filter((b) => !known.includes(b));
    if (unknown.length > 0) throw new UsageError(`--broker ${unknown.join(',')}: the cluster does not list ${unknown.length === 1 ? 'it' : 'them'} (brokers: ${known.join(',')})`);
  }
  const brokers = args.brokers ?? known;
  if (brokers.length > MAX_BROKERS) throw new UsageError(`the cluster lists ${brokers.length} brokers, more than the ${MAX_BROKERS} log-dirs describe asks; name some with --broker`);
  if (args.topics !== null) {
    const md = await client.metadata(args.topics);
    const missing = md.topics.filter((t) => t.errorCode !== 0);
    if (missing.length > 0) throw new UsageError(`--topics ${missing.map((t) => t.name).join(',')}: no such topic${missing.length === 1 ? '' : 's'} (${missing[0]!.errorName})`);
  }
  const answers: BrokerAnswer[] = [];
  for (const broker of brokers) {
    try {
      answers.push({ broker, error: null, logDirs: await client.describeLogDirs(broker, args.topics, { timeoutMs: ctx.requestTimeoutMs }) });
    } catch (err) {
      answers.push({ broker, error: (err as Error).message, logDirs: [] });
    }
  }
  if (ctx.json) {
    ctx.outJson({
      brokers: answers.map((a) => ({
        broker: a.broker,
        error: a.error,
        logDirs: a.logDirs.map((d) => ({ logDir: d.logDir, error: d.error?.message ?? null, totalBytes: d.totalBytes, usableBytes: d.usableBytes, replicas: d.replicas })),
      })),
    });
  } else {
    const dirRows: (string | number)[][] = [];
    const replicaRows: (string | number)[][] = [];
    for (const a of answers) {
      if (a.error !== null) dirRows.push([a.broker, '-', '-', '-', '-', a.error]);
      for (const d of a.logDirs) {
        const size = (n: number): string => (n < 0 ? 'unknown' : formatBytes(n));
        dirRows.push([a.broker, d.logDir, size(d.totalBytes), size(d.usableBytes), d.replicas.length, d.error?.message ?? '']);
        for (const r of d.replicas) replicaRows.push([a.broker, d.logDir, r.topic, r.partition, r.sizeBytes, formatBytes(r.sizeBytes), r.offsetLag, r.isFuture ? 'yes' : 'no']);
      }
    }
    ctx.out(table(['BROKER', 'LOG-DIR', 'TOTAL', 'USABLE', 'REPLICAS', 'ERROR'], dirRows));
    ctx.out('');
    ctx.out(table(['BROKER', 'LOG-DIR', 'TOPIC', 'PARTITION', 'SIZE-BYTES', 'SIZE', 'OFFSET-LAG', 'FUTURE'], replicaRows));
  }
  const failed = answers.filter((a) => a.error !== null);
  if (failed.length > 0) {
    throw new KafkaError(-1, 'BROKER_NOT_AVAILABLE', `BROKER_NOT_AVAILABLE: ${failed.length} of ${answers.length} brokers did not describe their log dirs (broker ${failed[0]!.broker}: ${failed[0]!.error})`);
  }
}
