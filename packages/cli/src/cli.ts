/**
 * The `trib` command line: argument parsing (yargs) and error reporting. `run` never exits the process;
 * it returns the exit code, so tests drive it in-process: 0 success, 1 a failed operation (Kafka error,
 * unreachable broker), 2 a bad command line.
 */
import yargs, { type Argv } from 'yargs';
import { ConnectionError, KafkaError, RequestTimeoutError } from '@tributary/client';
import { asStrings, compressionOption, dateTime, groupId, groupStates, intOption, parseKeyValues, topicName, topicPartitions } from './args.ts';
import { CommandContext, UsageError, type CliIo } from './context.ts';
import { chaosRun, parseConsumers, parseDuration, parseImage } from './commands/chaos-run.ts';
import { clusterInfo } from './commands/cluster-info.ts';
import { consume, consumeGroup, type StartAt } from './commands/consume.ts';
import { groupDelete } from './commands/group-delete.ts';
import { groupDeleteOffsets } from './commands/group-delete-offsets.ts';
import { groupDescribe } from './commands/group-describe.ts';
import { groupList } from './commands/group-list.ts';
import { groupResetOffsets, type ResetSpec } from './commands/group-reset-offsets.ts';
import { produce } from './commands/produce.ts';
import { quorumStatus } from './commands/quorum-status.ts';
import { topicAlterConfig } from './commands/topic-alter-config.ts';
import { topicCreate } from './commands/topic-create.ts';
import { topicDelete } from './commands/topic-delete.ts';
import { topicDescribe } from './commands/topic-describe.ts';
import { topicList } from './commands/topic-list.ts';
import { partitionElectLeaders, type ElectionScope } from './commands/partition-elect-leaders.ts';
import { partitionReassign, type ReassignArgs } from './commands/partition-reassign.ts';
import { logDirsDescribe, type LogDirsArgs } from './commands/log-dirs-describe.ts';
import { parseThrottle } from './reassign.ts';
import { PARTITION_FILTERS, type PartitionFilter } from './partitions.ts';

export const ExitCode = { Ok: 0, Failed: 1, Usage: 2 } as const;

export const DEFAULT_BOOTSTRAP_SERVER = '127.0.0.1:9092';

type Args = Record<string, unknown>;

export interface RunOptions {
  signal?: AbortSignal;
}

export async function run(argv: string[], io: CliIo, options: RunOptions = {}): Promise<number> {
  const signal = options.signal ?? new AbortController().signal;
  let ctx: CommandContext | null = null;
  const context = (a: Args): CommandContext => {
    ctx = new CommandContext(io, {
      json: a.json === true,
      bootstrapServer: String(a['bootstrap-server']),
      signal,
      requestTimeoutMs: intOption(a['request-timeout-ms'], 'request-timeout-ms', 1) ?? 30_000,
    });
    return ctx;
  };
  const handle =
    (fn: (ctx: CommandContext, a: Args) => Promise<void>) =>
    async (a: Args): Promise<void> => {
      await fn(context(a), a);
    };

  const parser = yargs(argv)
    .scriptName('trib')
    .usage('$0 <command> [options]\n\nOperate a Tributary (Kafka-compatible) cluster.')
    .exitProcess(false)
    .strict()
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .option('bootstrap-server', {
      alias: 'b',
      type: 'string',
      global: true,
      default: io.env.TRIB_BOOTSTRAP_SERVER ?? DEFAULT_BOOTSTRAP_SERVER,
      describe: 'host:port[,host:port] to bootstrap from (env TRIB_BOOTSTRAP_SERVER)',
    })
    .option('json', { type: 'boolean', global: true, default: false, describe: 'print machine-readable JSON' })
    .option('request-timeout-ms', { type: 'number', global: true, default: 30_000, describe: 'timeout for each request' })
    .command('topic', 'create, list, describe, alter and delete topics', (y: Argv) =>
      y
        .command(
          'create <name>',
          'create a topic',
          (c: Argv) =>
            c
              .positional('name', { type: 'string', describe: 'topic name' })
              .option('partitions', { alias: 'p', type: 'number', describe: 'partition count (broker default if absent)' })
              .option('replication-factor', { alias: 'r', type: 'number', describe: 'replicas per partition (broker default if absent)' })
              .option('config', { alias: 'c', type: 'string', array: true, describe: 'topic config key=value (repeatable)' }),
          handle((c, a) =>
            topicCreate(c, {
              name: topicName(a.name),
              partitions: intOption(a.partitions, 'partitions', 1, 1_000_000),
              replicationFactor: intOption(a['replication-factor'], 'replication-factor', 1, 32767),
              configs: parseKeyValues(a.config, 'config'),
            }),
          ),
        )
        .command('list', 'list topics', (c: Argv) => c, handle((c) => topicList(c)))
        .command(
          'describe [name]',
          'partitions, leaders, replicas, ISR and config overrides of one topic (or all)',
          (c: Argv) =>
            c
              .positional('name', { type: 'string', describe: 'topic name (all topics if absent)' })
              .option('under-replicated', { type: 'boolean', describe: 'only partitions whose ISR is smaller than their replicas' })
              .option('under-min-isr', { type: 'boolean', describe: "only partitions whose ISR is smaller than the topic's min.insync.replicas" })
              .option('at-min-isr', { type: 'boolean', describe: "only partitions whose ISR is exactly the topic's min.insync.replicas" })
              .option('unavailable', { type: 'boolean', describe: 'only partitions without a live leader' }),
          handle((c, a) => topicDescribe(c, { name: a.name === undefined ? undefined : topicName(a.name), ...partitionFilter(a) })),
        )
        .command(
          'delete <name>',
          'delete a topic',
          (c: Argv) => c.positional('name', { type: 'string', describe: 'topic name' }),
          handle((c, a) => topicDelete(c, { name: topicName(a.name) })),
        )
        .command(
          'alter-config <name>',
          'set or delete topic configs (IncrementalAlterConfigs)',
          (c: Argv) =>
            c
              .positional('name', { type: 'string', describe: 'topic name' })
              .option('set', { type: 'string', array: true, describe: 'key=value to set (repeatable)' })
              .option('delete', { type: 'string', array: true, describe: 'key to reset to its default (repeatable)' }),
          handle((c, a) => {
            const set = parseKeyValues(a.set, 'set');
            const del = asStrings(a.delete);
            if (Object.keys(set).length === 0 && del.length === 0) throw new UsageError('alter-config needs at least one --set or --delete');
            for (const k of del) if (Object.hasOwn(set, k)) throw new UsageError(`config ${k} is both set and deleted`);
            return topicAlterConfig(c, { name: topicName(a.name), set, delete: del });
          }),
        )
        .demandCommand(1, 'topic needs a subcommand: create, list, describe, delete or alter-config'),
    )
    .command(
      'produce <topic>',
      'produce lines from stdin, one record per line',
      (c: Argv) =>
        c
          .positional('topic', { type: 'string', describe: 'topic name' })
          .option('partition', { alias: 'p', type: 'number', default: 0, describe: 'partition to produce to' })
          .option('key-separator', { type: 'string', describe: 'split each line into key and value at the first S' })
          .option('compression', { type: 'string', default: 'none', describe: 'none, gzip, snappy, lz4 or zstd' })
          .option('acks', { type: 'number', default: -1, describe: '0 (no reply), 1 (leader) or -1 (all in-sync replicas)' })
          .option('header', { type: 'string', array: true, describe: 'header k=v added to every record (repeatable)' })
          .option('batch-size', { type: 'number', default: 1000, describe: 'records per batch at most' })
          .option('batch-bytes', { type: 'number', default: 512 * 1024, describe: 'bytes per batch, roughly, at most' }),
      handle((c, a) => {
        const acks = intOption(a.acks, 'acks', -1, 1) as number;
        const separator = a['key-separator'] === undefined ? undefined : String(a['key-separator']);
        if (separator === '') throw new UsageError('--key-separator must not be empty');
        return produce(c, {
          topic: topicName(a.topic),
          partition: intOption(a.partition, 'partition', 0) as number,
          keySeparator: separator,
          compression: compressionOption(a.compression),
          acks,
          headers: parseKeyValues(a.header, 'header'),
          batchSize: intOption(a['batch-size'], 'batch-size', 1, 100_000) as number,
          batchBytes: intOption(a['batch-bytes'], 'batch-bytes', 1, 64 * 1024 * 1024) as number,
        });
      }),
    )
    .command(
      'consume <topic>',
      'print records, one value per line',
      (c: Argv) =>
        c
          .positional('topic', { type: 'string', describe: 'topic name' })
          .option('partition', { alias: 'p', type: 'number', describe: 'partition (all partitions if absent)' })
          .option('from-beginning', { type: 'boolean', describe: 'start at the earliest offset' })
          .option('offset', { type: 'number', describe: 'start at this offset' })
          .option('latest', { type: 'boolean', describe: 'start at the end (default)' })
          .option('max-messages', { alias: 'n', type: 'number', describe: 'stop after N records' })
          .option('timeout-ms', { type: 'number', describe: 'stop after N ms without a new record' })
          .option('print-key', { type: 'boolean', default: false, describe: 'print the key before the value' })
          .option('print-offset', { type: 'boolean', default: false, describe: 'print the offset before the value' })
          .option('key-separator', { type: 'string', default: '\t', describe: 'separator after printed offsets and keys' })
          .option('max-bytes', { type: 'number', default: 1024 * 1024, describe: 'bytes per fetch (per partition)' })
          .option('group', { alias: 'g', type: 'string', describe: 'consume as a member of this consumer group and commit offsets' })
          .conflicts('from-beginning', ['offset', 'latest'])
          .conflicts('offset', 'latest')
          .conflicts('group', ['offset', 'partition']),
      handle((c, a) => {
        const offset = intOption(a.offset, 'offset', 0);
        const common = {
          topic: topicName(a.topic),
          maxMessages: intOption(a['max-messages'], 'max-messages', 1),
          timeoutMs: intOption(a['timeout-ms'], 'timeout-ms', 0),
          printKey: a['print-key'] === true,
          printOffset: a['print-offset'] === true,
          keySeparator: String(a['key-separator']),
          maxBytes: intOption(a['max-bytes'], 'max-bytes', 1, 256 * 1024 * 1024) as number,
        };
        if (a.group !== undefined) {
          // With a group, the start options apply only to partitions the group has no offset for.
          return consumeGroup(c, { ...common, group: groupId(a.group), reset: a['from-beginning'] === true ? 'earliest' : 'latest' });
        }
        const start: StartAt =
          a['from-beginning'] === true ? { kind: 'earliest' } : offset !== undefined ? { kind: 'offset', offset } : { kind: 'latest' };
        return consume(c, { ...common, partition: intOption(a.partition, 'partition', 0), start });
      }),
    )
    .command('group', 'list, describe and delete consumer groups; reset and delete their offsets', (y: Argv) =>
      y
        .command(
          'list',
          'list consumer groups',
          (c: Argv) => c.option('state', { type: 'string', array: true, describe: `only groups in these states (comma-separated or repeated): ${GROUP_STATE_NAMES}` }),
          handle((c, a) => groupList(c, { states: groupStates(a.state) })),
        )
        .command(
          'describe <group>',
          'state, members, and per partition the committed offset, log end offset and lag',
          (c: Argv) => c.positional('group', { type: 'string', describe: 'group id' }),
          handle((c, a) => groupDescribe(c, { group: groupId(a.group) })),
        )
        .command(
          'delete <groups..>',
          'delete groups without active members, with their committed offsets',
          (c: Argv) => c.positional('groups', { type: 'string', array: true, describe: 'group ids' }),
          handle((c, a) => groupDelete(c, { groups: [...new Set(asStrings(a.groups).map(groupId))] })),
        )
        .command(
          'reset-offsets <group>',
          'plan (--dry-run, the default) or commit (--execute) new offsets for an inactive group',
          (c: Argv) =>
            c
              .positional('group', { type: 'string', describe: 'group id' })
              .option('topic', { type: 'string', array: true, describe: 'T (all partitions) or T:p1,p2 (repeatable)' })
              .option('to-earliest', { type: 'boolean', describe: 'the first offset of each partition' })
              .option('to-latest', { type: 'boolean', describe: 'the end of each partition' })
              .option('to-offset', { type: 'number', describe: 'this offset (moved into the log if outside it)' })
              .option('to-datetime', { type: 'string', describe: 'the first offset at or after this ISO 8601 time' })
              .option('shift-by', { type: 'number', describe: 'move the committed offset by N (may be negative)' })
              .option('dry-run', { type: 'boolean', describe: 'only print the plan (default)' })
              .option('execute', { type: 'boolean', describe: 'commit the new offsets' })
              .conflicts('dry-run', 'execute'),
          handle((c, a) => {
            const topics = topicPartitions(a.topic, 'topic');
            if (topics.length === 0) throw new UsageError('reset-offsets needs at least one --topic');
            return groupResetOffsets(c, { group: groupId(a.group), topics, spec: resetSpec(a), execute: a.execute === true });
          }),
        )
        .command(
          'delete-offsets <group>',
          "delete a group's committed offsets for topics (or some of their partitions)",
          (c: Argv) =>
            c
              .positional('group', { type: 'string', describe: 'group id' })
              .option('topic', { type: 'string', array: true, describe: 'T (every partition with an offset) or T:p1,p2 (repeatable)' }),
          handle((c, a) => {
            const topics = topicPartitions(a.topic, 'topic');
            if (topics.length === 0) throw new UsageError('delete-offsets needs at least one --topic');
            return groupDeleteOffsets(c, { group: groupId(a.group), topics });
          }),
        )
        .demandCommand(1, 'group needs a subcommand: list, describe, delete, reset-offsets or delete-offsets'),
    )
    .command('partition', 'leader elections and replica reassignments', (y: Argv) =>
      y
        .command(
          'elect-leaders',
          'elect the preferred replica (--preferred) or any live replica of a leaderless partition (--unclean)',
          (c: Argv) =>
            c
              .option('preferred', { type: 'boolean', describe: 'move leadership to the first replica where it is live and in the ISR' })
              .option('unclean', { type: 'boolean', describe: 'give a leaderless partition a live replica outside the ISR (may lose records)' })
              .option('topic', { type: 'string', describe: 'only this topic' })
              .option('partition', { type: 'number', array: true, describe: 'only these partitions of --topic (repeatable)' })
              .option('all-topic-partitions', { type: 'boolean', describe: 'every partition of every topic' })
              .conflicts('preferred', 'unclean')
              .conflicts('all-topic-partitions', ['topic', 'partition']),
          handle((c, a) => partitionElectLeaders(c, electionArgs(a))),
        )
        .command(
          'reassign',
          'move partition replicas: --generate a balanced plan, --execute it, --verify its progress, --cancel it',
          (c: Argv) =>
            c
              .option('generate', { type: 'boolean', describe: 'print the current assignment of --topics and a balanced plan over --brokers' })
              .option('execute', { type: 'boolean', describe: 'start the reassignments of --plan (prints the current assignment, for a rollback)' })
              .option('verify', { type: 'boolean', describe: 'per partition of --plan: complete, or in progress with its target replicas in sync' })
              .option('cancel', { type: 'boolean', describe: 'cancel the reassignments of --plan still in progress (back to the original replicas)' })
              .option('topics', { type: 'string', describe: '--generate: comma-separated topics' })
              .option('brokers', { type: 'string', describe: '--generate: comma-separated broker ids to place the replicas on' })
              .option('plan', { type: 'string', describe: 'plan file (JSON, as --generate prints it)' })
              .option('wait', { type: 'boolean', describe: '--verify: poll until every partition completes (a progress bar on a terminal)' })
              .option('interval-ms', { type: 'number', default: 1000, describe: '--verify --wait: time between polls' })
              .option('timeout-ms', { type: 'number', default: 600_000, describe: '--verify --wait: give up after this long' })
              .option('throttle', {
                type: 'string',
                describe: '--execute: cap the replication the moves cause at this many bytes/s on every broker of the plan (--verify removes it once complete; again on a running move: a new rate)',
              }),
          handle((c, a) => partitionReassign(c, reassignArgs(a))),
        )
        .demandCommand(1, 'partition needs a subcommand: elect-leaders or reassign'),
    )
    .command('log-dirs', "brokers' log dirs and the size on disk of each partition replica in them", (y: Argv) =>
      y
        .command(
          'describe',
          'per broker: each log dir, its volume\'s total and usable bytes, and every replica in it with its size (like kafka-log-dirs.sh --describe)',
          (c: Argv) =>
            c
              .option('broker', { type: 'string', array: true, describe: 'only these broker ids (comma-separated or repeated; default: every broker)' })
              .option('topics', { type: 'string', describe: 'only replicas of these comma-separated topics' }),
          handle((c, a) => logDirsDescribe(c, logDirsArgs(a))),
        )
        .demandCommand(1, 'log-dirs needs a subcommand: describe'),
    )
    .command('cluster', 'cluster-wide information', (y: Argv) =>
      y
        .command('info', 'cluster id, controller and brokers', (c: Argv) => c, handle((c) => clusterInfo(c)))
        .demandCommand(1, 'cluster needs a subcommand: info'),
    )
    .command('quorum', 'the controller quorum (the metadata log\'s Raft group)', (y: Argv) =>
      y
        .command(
          'status',
          'leader, epoch, high watermark, and each voter\'s and observer\'s log end offset, lag and last fetch',
          (c: Argv) => c.option('output', { alias: 'o', type: 'string', describe: 'text or json (same as --json)' }),
          handle((c, a) => quorumStatus(c, { json: c.json || outputFormat(a.output) === 'json', nowMs: () => Date.now() })),
        )
        .demandCommand(1, 'quorum needs a subcommand: status'),
    )
    .command('chaos', 'fault injection against a cluster of local processes or containers (packages/harness)', (y: Argv) =>
      y
        .command(
          'run',
          'start controllers and brokers, write with idempotent acks=all producers under a seeded nemesis, read back and check (root: iptables)',
          (c: Argv) =>
            c
              .option('duration', { type: 'string', default: '5m', describe: 'how long faults run: 300000, 90s, 5m, 1h' })
              .option('seed', { type: 'number', default: 1, describe: 'seed of the fault schedule (same seed, same schedule)' })
              .option('controllers', { type: 'number', default: 3, describe: 'controller processes (c1..)' })
              .option('brokers', { type: 'number', default: 3, describe: 'broker processes (b1..)' })
              .option('faults', { type: 'string', default: 'kill,pause,partition', describe: 'rotated faults: kill, stop, pause, partition, latency, loss, reorder, disk-full, disk-readonly, power-loss (both cluster kinds); targets after a colon: kill:b1+b2, pause:majority, partition:c1+b1/c2+c3+b2+b3' })
              .option('out', { type: 'string', demandOption: true, describe: 'folder for history.jsonl, report.json, report.html (and node logs when it fails)' })
              .option('rate', { type: 'number', describe: 'records per second per producer (default 100)' })
              .option('consumers', { type: 'string', describe: 'consumers reading during the run: assign=N,group=M or none (default assign=1,group=2)' })
              .option('keep-nodes', { type: 'boolean', default: false, describe: 'keep node data and logs after a clean run too' })
              .option('image', { type: 'string', describe: 'run the nodes as containers of this image (scripts/setup-docker.sh builds tributary:test) instead of local processes; needs docker, nsenter, root' }),
          handle((c, a) => {
            // A repeated option counts once, the last one winning: `pnpm chaos:soak --duration 10m` overrides the script's default.
            const last = (v: unknown): unknown => (Array.isArray(v) ? v.at(-1) : v);
            return chaosRun(c, {
              seed: intOption(last(a.seed), 'seed', 0) as number,
              durationMs: parseDuration(String(last(a.duration))),
              controllers: intOption(last(a.controllers), 'controllers', 0) as number,
              brokers: intOption(last(a.brokers), 'brokers', 0) as number,
              faults: String(last(a.faults)),
              outDir: String(last(a.out)),
              keepNodes: last(a['keep-nodes']) === true,
              ...(a.image !== undefined ? { image: parseImage(String(last(a.image))) } : {}),
              ...(a.rate !== undefined ? { ratePerS: Number(last(a.rate)) } : {}),
              ...(a.consumers !== undefined ? { consumers: parseConsumers(String(last(a.consumers))) } : {}),
            });
          }),
        )
        .demandCommand(1, 'chaos needs a subcommand: run'),
    )
    .demandCommand(1, 'give a command: topic, partition, group, produce, consume, log-dirs, cluster, quorum or chaos')
    .recommendCommands()
    .fail((msg: string | null, err: Error | undefined) => {
      throw err ?? new UsageError(msg ?? 'invalid arguments');
    })
    .help()
    .alias('help', 'h')
    .version(false);

  try {
    await parser.parseAsync(argv, {}, (_err: Error | undefined, _argv: unknown, output: string) => {
      // --help: yargs hands us its text instead of printing it.
      if (output) io.stdout.write(output.endsWith('\n') ? output : `${output}\n`);
    });
    return ExitCode.Ok;
  } catch (err) {
    return report(io, err);
  } finally {
    await (ctx as CommandContext | null)?.close();
  }
}

/** `--output text|json`; absent means text. */
function outputFormat(value: unknown): 'text' | 'json' {
  if (value === undefined) return 'text';
  const v = String(value);
  if (v !== 'text' && v !== 'json') throw new UsageError(`--output must be text or json, got "${v}"`);
  return v;
}

/** At most one of describe's partition filters (they select different things; Kafka takes one too). */
export function partitionFilter(a: Args): { filter?: PartitionFilter } {
  const given = PARTITION_FILTERS.filter((f) => a[f] === true);
  if (given.length > 1) throw new UsageError(`topic describe takes one partition filter at a time; got ${given.map((f) => `--${f}`).join(' and ')}`);
  return given.length === 0 ? {} : { filter: given[0]! };
}

/** elect-leaders' election type and scope: exactly one type, and either every partition or a topic. */
export function electionArgs(a: Args): { type: 'preferred' | 'unclean'; scope: ElectionScope } {
  if (a.preferred !== true && a.unclean !== true) throw new UsageError('elect-leaders needs --preferred or --unclean');
  const type = a.unclean === true ? 'unclean' : 'preferred';
  const partitions = a.partition === undefined ? null : [...new Set(asStrings(a.partition).map((p) => intOption(p, 'partition', 0, 2_147_483_647) as number))].sort((x, y) => x - y);
  if (a['all-topic-partitions'] === true) return { type, scope: { kind: 'all' } };
  if (a.topic === undefined) {
    throw new UsageError(partitions === null ? 'elect-leaders needs --topic T or --all-topic-partitions' : '--partition needs --topic');
  }
  return { type, scope: { kind: 'topic', topic: topicName(a.topic), partitions } };
}

/** `log-dirs describe`: --broker ids (comma-separated or repeated) and --topics names, each list non-empty when given. */
export function logDirsArgs(a: Args): LogDirsArgs {
  const items = (v: unknown): string[] => asStrings(v).flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '');
  let brokers: number[] | null = null;
  if (a.broker !== undefined) {
    brokers = [...new Set(items(a.broker).map((b) => intOption(b, 'broker', 0, 2_147_483_647) as number))].sort((x, y) => x - y);
    if (brokers.length === 0) throw new UsageError('--broker names no broker: give broker ids, e.g. --broker 1,2');
  }
  let topics: string[] | null = null;
  if (a.topics !== undefined) {
    topics = [...new Set(items(a.topics).map(topicName))];
    if (topics.length === 0) throw new UsageError('--topics names no topic: give topic names, e.g. --topics orders,audit');
  }
  return { brokers, topics };
}

export function reassignArgs(a: Args): ReassignArgs {
  const modes = (['generate', 'execute', 'verify', 'cancel'] as const).filter((m) => a[m] === true);
  if (modes.length !== 1) throw new UsageError('reassign needs exactly one of --generate, --execute, --verify, --cancel');
  const mode = modes[0]!;
  if (a.throttle !== undefined && mode !== 'execute') throw new UsageError(`--throttle goes with --execute (it sets the rate a reassignment replicates at), not with --${mode}`);
  if (mode === 'generate') {
    if (a.topics === undefined || a.brokers === undefined) throw new UsageError('--generate needs --topics T1,T2 and --brokers 1,2,3');
    const topics = [...new Set(asStrings(a.topics).flatMap((t) => t.split(',')).map((t) => t.trim()).filter((t) => t !== ''))].map(topicName);
    const brokers = [...new Set(asStrings(a.brokers).flatMap((b) => b.split(',')).map((b) => b.trim()).filter((b) => b !== ''))].map((b) => intOption(b, 'brokers', 0, 2_147_483_647) as number);
    if (topics.length === 0) throw new UsageError('--topics names no topic');
    if (brokers.length === 0) throw new UsageError('--brokers names no broker');
    return { mode, topics, brokers };
  }
  if (typeof a.plan !== 'string' || a.plan === '') throw new UsageError(`--${mode} needs --plan FILE`);
  if (mode === 'verify') {
    return {
      mode,
      planFile: a.plan,
      wait: a.wait === true,
      intervalMs: intOption(a['interval-ms'], 'interval-ms', 10, 3_600_000) ?? 1000,
      timeoutMs: intOption(a['timeout-ms'], 'timeout-ms', 1) ?? 600_000,
    };
  }
  if (mode === 'execute') return { mode, planFile: a.plan, throttle: a.throttle === undefined ? null : parseThrottle(a.throttle) };
  return { mode, planFile: a.plan };
}

const GROUP_STATE_NAMES = 'Empty, Stable, PreparingRebalance, CompletingRebalance, Dead';

const RESET_OPTIONS = ['to-earliest', 'to-latest', 'to-offset', 'to-datetime', 'shift-by'] as const;

/** Exactly one of the reset-offsets targets. */
function resetSpec(a: Args): ResetSpec {
  const given = RESET_OPTIONS.filter((o) => a[o] !== undefined && a[o] !== false);
  if (given.length !== 1) {
    const what = given.length === 0 ? 'none was given' : `got ${given.map((o) => `--${o}`).join(' and ')}`;
    throw new UsageError(`reset-offsets needs exactly one of ${RESET_OPTIONS.map((o) => `--${o}`).join(', ')}; ${what}`);
  }
  switch (given[0]) {
    case 'to-earliest':
      return { kind: 'earliest' };
    case 'to-latest':
      return { kind: 'latest' };
    case 'to-offset':
      return { kind: 'offset', offset: intOption(a['to-offset'], 'to-offset', 0) as number };
    case 'to-datetime':
      return { kind: 'datetime', timestampMs: dateTime(a['to-datetime'], 'to-datetime') };
    default: {
      const by = Number(a['shift-by']);
      if (!Number.isSafeInteger(by)) throw new UsageError(`--shift-by must be an integer (negative moves back), got "${String(a['shift-by'])}"`);
      return { kind: 'shift', by };
    }
  }
}

/** One line on stderr that says what went wrong; the exit code says what kind of failure. */
function report(io: CliIo, err: unknown): number {
  if (err instanceof UsageError) {
    io.stderr.write(`trib: ${err.message}\nRun 'trib --help' for usage.\n`);
    return ExitCode.Usage;
  }
  if (err instanceof KafkaError || err instanceof ConnectionError || err instanceof RequestTimeoutError) {
    io.stderr.write(`trib: ${err.message}\n`);
    return ExitCode.Failed;
  }
  // yargs' own validation errors (unknown argument, missing positional) arrive as plain YError.
  if (err instanceof Error && err.name === 'YError') {
    io.stderr.write(`trib: ${err.message}\nRun 'trib --help' for usage.\n`);
    return ExitCode.Usage;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(`trib: ${message.split('\n')[0]}\n`);
  return ExitCode.Failed;
}
