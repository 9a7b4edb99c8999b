import { readFile } from 'node:fs/promises';
import { ConfigSource, KafkaClient, KafkaError, ResourceType, type TopicMetadata } from '@tributary/client';
import { UsageError, type CommandContext } from '../context.ts';
import {
  generatePlan,
  movingToPlan,
  parsePlan,
  planBrokers,
  planOf,
  progressBar,
  summarize,
  THROTTLE_CONFIGS,
  verifyLineText,
  verifyPartition,
  withCopyProgress,
  type ReassignmentPlan,
  type ReplicaSizes,
  type VerifyLine,
} from '../reassign.ts';

export type ReassignArgs =
  | { mode: 'generate'; topics: string[]; brokers: number[] }
  | { mode: 'execute'; planFile: string; throttle: number | null }
  | { mode: 'verify'; planFile: string; wait: boolean; intervalMs: number; timeoutMs: number }
  | { mode: 'cancel'; planFile: string };

const NO_REASSIGNMENT_IN_PROGRESS = 85;
/** --verify asks each live broker whether it carries a throttle; a cluster with more brokers than this is refused. */
const MAX_THROTTLE_BROKERS = 10_000;
/** How long --verify waits for one broker's replica sizes before showing its partitions by replica count instead. */
const SIZES_TIMEOUT_MS = 5_000;
/** A plan file is read whole: larger than this is not a plan. */
const MAX_PLAN_BYTES = 64 * 1024 * 1024;

/**
 * `trib partition reassign`, like kafka-reassign-partitions.sh: --generate a balanced plan for a broker list,
 * --execute it (printing the current assignment first, for a rollback; --throttle caps the replication it causes),
 * --verify its progress (--wait: until it completes, a progress bar on a terminal; once complete it removes the
 * throttle), --cancel what is still moving.
 */
export async function partitionReassign(ctx: CommandContext, args: ReassignArgs): Promise<void> {
  switch (args.mode) {
    case 'generate':
      return generate(ctx, args.topics, args.brokers);
    case 'execute':
      return execute(ctx, await readPlan(args.planFile), args.throttle);
    case 'verify':
      return verify(ctx, await readPlan(args.planFile), args);
    case 'cancel':
      return cancel(ctx, await readPlan(args.planFile));
  }
}

async function readPlan(file: string): Promise<ReassignmentPlan> {
  let text: string;
  try {
    const bytes = await readFile(file);
    if (bytes.length > MAX_PLAN_BYTES) throw new UsageError(`--plan ${file} is ${bytes.length} bytes, more than ${MAX_PLAN_BYTES}`);
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read --plan ${file}: ${(err as Error).message}`);
  }
  return parsePlan(text, file);
}

async function topicsOf(client: KafkaClient, names: string[]): Promise<TopicMetadata[]> {
  const md = await client.metadata(names);
  for (const t of md.topics) if (t.errorCode !== 0) throw new KafkaError(t.errorCode, t.errorName, `${t.errorName}: topic ${t.name}`);
  return md.topics;
}

/** The plan's partitions as they are assigned now (what --execute prints for a rollback). */
async function currentAssignment(client: KafkaClient, plan: ReassignmentPlan): Promise<ReassignmentPlan> {
  const topics = await topicsOf(client, [...new Set(plan.partitions.map((p) => p.topic))]);
  const byName = new Map(topics.map((t) => [t.name, t]));
  return planOf(
    plan.partitions.flatMap((p) => {
      const current = byName.get(p.topic)?.partitions.find((x) => x.partition === p.partition);
      return current === undefined ? [] : [{ topic: p.topic, partition: p.partition, replicas: current.replicas }];
    }),
  );
}

async function generate(ctx: CommandContext, topicNames: string[], brokers: number[]): Promise<void> {
  const client = ctx.client();
  const topics = await topicsOf(client, topicNames);
  const md = await client.metadata([]);
  const known = new Set(md.brokers.map((b) => b.nodeId));
  const unknown = brokers.filter((b) => !known.has(b));
  if (unknown.length > 0) throw new UsageError(`--brokers names ${unknown.join(',')}, which the cluster does not list (brokers: ${[...known].sort((a, b) => a - b).join(',')})`);
  const current = planOf(topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition, replicas: p.replicas }))));
  const proposed = generatePlan(
    topics.map((t) => ({ name: t.name, partitions: t.partitions })),
    brokers,
  );
  if (ctx.json) {
    ctx.outJson({ current, proposed });
    return;
  }
  ctx.out('Current partition replica assignment');
  ctx.out(JSON.stringify(current));
  ctx.out('');
  ctx.out('Proposed partition reassignment configuration');
  ctx.out(JSON.stringify(proposed));
}

/**
 * Starts the plan's reassignments. Partitions already moving to the plan's replicas are left as they are: sending
 * the same target again would restart the move with nothing left to add (and so nothing throttled). With
 * `throttle`, both replication throttle rates are set on every broker of the plan first, so the first bytes moved
 * are already throttled; on a running reassignment that just changes the rate.
 */
async function execute(ctx: CommandContext, plan: ReassignmentPlan, throttle: number | null): Promise<void> {
  const client = ctx.client();
  const current = await currentAssignment(client, plan);
  const ongoing = await client.listPartitionReassignments(plan.partitions, { timeoutMs: ctx.requestTimeoutMs });
  const ongoingByName = new Map(ongoing.map((o) => [`${o.topic}-${o.partition}`, o]));
  const isMoving = (p: { topic: string; partition: number; replicas: number[] }): boolean => movingToPlan(p, ongoingByName.get(`${p.topic}-${p.partition}`));
  const moving = plan.partitions.filter(isMoving);
  const toStart = plan.partitions.filter((p) => !isMoving(p));
  const throttledBrokers = throttle === null ? [] : planBrokers(plan, current);
  if (throttle !== null) await setThrottle(ctx, throttledBrokers, throttle);
  const results = toStart.length === 0 ? [] : await client.alterPartitionReassignments(toStart, { timeoutMs: ctx.requestTimeoutMs });
  const failed = results.filter((r) => r.error !== null);
  if (ctx.json) {
    ctx.outJson({
      current,
      results: [
        ...results.map((r) => ({ topic: r.topic, partition: r.partition, outcome: r.error === null ? 'started' : 'failed', error: r.error?.message ?? null })),
        ...moving.map((p) => ({ topic: p.topic, partition: p.partition, outcome: 'in-progress', error: null })),
      ],
      throttle: throttle === null ? null : { bytesPerSecond: throttle, brokers: throttledBrokers },
    });
  } else {
    ctx.out('Current partition replica assignment');
    ctx.out(JSON.stringify(current));
    ctx.out('');
    ctx.out('Save this to use as the --plan of an --execute during rollback');
    if (throttle !== null) {
      ctx.out(`Replication throttle set to ${throttle} bytes/s (${THROTTLE_CONFIGS.join(', ')}) on brokers ${throttledBrokers.join(',')}`);
      ctx.out('Run --verify until the reassignment is complete: it removes the throttle then.');
    }
    const started = results.filter((r) => r.error === null).map((r) => `${r.topic}-${r.partition}`);
    if (started.length > 0) ctx.out(`Successfully started partition reassignment${started.length === 1 ? '' : 's'} for ${started.join(', ')}`);
    for (const p of moving) ctx.out(`Reassignment of partition ${p.topic}-${p.partition} to [${p.replicas.join(',')}] is already in progress; left as it is`);
    for (const f of failed) ctx.out(`Error reassigning partition ${f.topic}-${f.partition}: ${f.error!.message}`);
  }
  if (failed.length > 0) {
    const first = failed[0]!.error!;
    throw new KafkaError(first.code, first.name, `${first.name}: ${failed.length} of ${results.length} partitions could not be reassigned`);
  }
}

/** Sets both throttle rates on each broker (dynamic per-broker configs, committed by the controller). */
async function setThrottle(ctx: CommandContext, brokers: readonly number[], bytesPerSecond: number): Promise<void> {
  try {
    await ctx.client().incrementalAlterConfigs(
      brokers.map((id) => ({ type: ResourceType.Broker, name: String(id), alterations: THROTTLE_CONFIGS.map((name) => ({ name, op: 'set' as const, value: String(bytesPerSecond) })) })),
    );
  } catch (err) {
    if (err instanceof KafkaError) throw new KafkaError(err.code, err.name, `${err.message} (setting the replication throttle; no reassignment was started)`);
    throw err;
  }
}

interface ThrottleRemoval {
  /** Brokers whose own throttle rates were removed. */
  removedFrom: number[];
  /** Other partitions still reassigning, for which the throttle stays. */
  keptFor: string[];
}

/**
 * Once the whole plan is complete: removes the per-broker throttle rates from every broker that has them, unless
 * another reassignment still runs (it may rely on them). A broker describes only its own configs, so each live one
 * is asked through a connection of its own; brokers the plan names that are not live get the delete anyway.
 */
async function removeThrottle(ctx: CommandContext, plan: ReassignmentPlan): Promise<ThrottleRemoval> {
  const client = ctx.client();
  const inPlan = new Set(plan.partitions.map((p) => `${p.topic}-${p.partition}`));
  const others = (await client.listPartitionReassignments(null, { timeoutMs: ctx.requestTimeoutMs })).map((o) => `${o.topic}-${o.partition}`).filter((name) => !inPlan.has(name));
  if (others.length > 0) return { removedFrom: [], keptFor: others.sort() };
  const live = (await client.metadata([])).brokers;
  if (live.length > MAX_THROTTLE_BROKERS) throw new KafkaError(-1, 'TOO_MANY_BROKERS', `the cluster lists ${live.length} brokers, more than the ${MAX_THROTTLE_BROKERS} --verify checks for a throttle`);
  const removedFrom: number[] = [];
  for (const b of live) {
    const own = new KafkaClient({ ...ctx.clientOptions(), bootstrapServers: `${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}` });
    try {
      const [described] = await own.describeConfigs([{ type: ResourceType.Broker, name: String(b.nodeId), keys: [...THROTTLE_CONFIGS] }]);
      if (described?.configs.some((c) => c.source === ConfigSource.DynamicBroker)) removedFrom.push(b.nodeId);
    } catch {
      // Cannot tell: remove it anyway (deleting an unset config changes nothing).
      removedFrom.push(b.nodeId);
    } finally {
      await own.close();
    }
  }
  const liveIds = new Set(live.map((b) => b.nodeId));
  const absent = [...new Set(plan.partitions.flatMap((p) => p.replicas))].filter((id) => !liveIds.has(id));
  const targets = [...removedFrom, ...absent];
  if (targets.length > 0) {
    await client.incrementalAlterConfigs(targets.map((id) => ({ type: ResourceType.Broker, name: String(id), alterations: THROTTLE_CONFIGS.map((name) => ({ name, op: 'delete' as const })) })));
  }
  return { removedFrom: removedFrom.sort((a, b) => a - b), keptFor: [] };
}

function throttleRemovalText(r: ThrottleRemoval): string | null {
  if (r.keptFor.length > 0) {
    const shown = r.keptFor.slice(0, 5).join(', ');
    return `The replication throttle stays: ${r.keptFor.length} other partition${r.keptFor.length === 1 ? ' is' : 's are'} still reassigning (${shown}${r.keptFor.length > 5 ? ', ...' : ''}); --verify their plan once they complete to remove it`;
  }
  if (r.removedFrom.length > 0) return `Removed the replication throttle (${THROTTLE_CONFIGS.join(', ')}) from brokers ${r.removedFrom.join(',')}`;
  return null;
}

async function verifyOnce(client: KafkaClient, plan: ReassignmentPlan, timeoutMs: number): Promise<VerifyLine[]> {
  const ongoing = await client.listPartitionReassignments(plan.partitions, { timeoutMs });
  const ongoingByName = new Map(ongoing.map((o) => [`${o.topic}-${o.partition}`, o]));
  const md = await client.metadata([...new Set(plan.partitions.map((p) => p.topic))]);
  const topics = new Map(md.topics.filter((t) => t.errorCode === 0).map((t) => [t.name, new Map(t.partitions.map((x) => [x.partition, x]))]));
  const lines = plan.partitions.map((p) => verifyPartition(p, ongoingByName.get(`${p.topic}-${p.partition}`), topics.get(p.topic)?.get(p.partition)));
  const sizes = await replicaSizes(client, lines, Math.min(timeoutMs, SIZES_TIMEOUT_MS));
  return lines.map((l) => withCopyProgress(l, sizes));
}

/**
 * The sizes on disk of the moving partitions' replicas, from DescribeLogDirs sent to each of their leaders' and
 * adding replicas' brokers (each broker answers only for itself), side by side. A broker that fails or does not
 * answer is left out: its partitions show replicas in sync instead of bytes.
 */
async function replicaSizes(client: KafkaClient, lines: readonly VerifyLine[], timeoutMs: number): Promise<ReplicaSizes> {
  // broker -> topic -> partitions it should describe; bounded by the plan's size (MAX_PLAN_PARTITIONS).
  const wanted = new Map<number, Map<string, Set<number>>>();
  for (const l of lines) {
    if (l.state !== 'in-progress' || l.addingReplicas.length === 0 || l.leader < 0) continue;
    for (const broker of [l.leader, ...l.addingReplicas]) {
      let topics = wanted.get(broker);
      if (topics === undefined) wanted.set(broker, (topics = new Map()));
      let partitions = topics.get(l.topic);
      if (partitions === undefined) topics.set(l.topic, (partitions = new Set()));
      partitions.add(l.partition);
    }
  }
  const answers = await Promise.all(
    [...wanted].map(async ([broker, topics]): Promise<[number, Map<string, number>] | null> => {
      try {
        const dirs = await client.describeLogDirs(broker, [...topics].map(([topic, partitions]) => ({ topic, partitions: [...partitions] })), { timeoutMs });
        const sizes = new Map<string, number>();
        for (const d of dirs) {
          if (d.error !== null) continue;
          for (const r of d.replicas) if (!r.isFuture) sizes.set(`${r.topic}-${r.partition}`, (sizes.get(`${r.topic}-${r.partition}`) ?? 0) + r.sizeBytes);
        }
        return [broker, sizes];
      } catch {
        return null;
      }
    }),
  );
  return new Map(answers.filter((a): a is [number, Map<string, number>] => a !== null));
}

function isTty(ctx: CommandContext): boolean {
  return (ctx.io.stdout as { isTTY?: boolean }).isTTY === true;
}

async function verify(ctx: CommandContext, plan: ReassignmentPlan, args: { wait: boolean; intervalMs: number; timeoutMs: number }): Promise<void> {
  const client = ctx.client();
  const tty = isTty(ctx) && !ctx.json;
  const deadlineMs = Date.now() + args.timeoutMs;
  let lines = await verifyOnce(client, plan, ctx.requestTimeoutMs);
  let lastShown = '';
  // Bounded by the deadline; each round is one list and one metadata request.
  while (args.wait && summarize(lines).inProgress > 0 && Date.now() < deadlineMs && !ctx.signal.aborted) {
    const bar = progressBar(summarize(lines));
    if (tty) ctx.io.stdout.write(`\r${bar}`);
    else if (!ctx.json && bar !== lastShown) ctx.out(bar);
    lastShown = bar;
    await sleep(Math.min(args.intervalMs, Math.max(0, deadlineMs - Date.now())), ctx.signal);
    lines = await verifyOnce(client, plan, ctx.requestTimeoutMs);
  }
  const summary = summarize(lines);
  const throttle = summary.complete === lines.length ? await removeThrottle(ctx, plan) : null;
  if (ctx.json) {
    ctx.outJson({ partitions: lines, ...summary, throttle });
  } else {
    if (tty && lastShown !== '') ctx.io.stdout.write(`\r${progressBar(summary)}\n`);
    for (const l of lines) ctx.out(verifyLineText(l));
    if (!tty || lastShown === '') ctx.out(progressBar(summary));
    const removal = throttle === null ? null : throttleRemovalText(throttle);
    if (removal !== null) ctx.out(removal);
  }
  if (summary.failed > 0) throw new KafkaError(-1, 'REASSIGNMENT_NOT_APPLIED', `${summary.failed} of ${lines.length} partitions are neither reassigning nor on the plan's replicas`);
  if (args.wait && summary.inProgress > 0) throw new KafkaError(7, 'REQUEST_TIMED_OUT', `REQUEST_TIMED_OUT: ${summary.inProgress} of ${lines.length} partitions still reassigning after ${args.timeoutMs} ms`);
}

async function cancel(ctx: CommandContext, plan: ReassignmentPlan): Promise<void> {
  const client = ctx.client();
  const results = await client.alterPartitionReassignments(
    plan.partitions.map((p) => ({ topic: p.topic, partition: p.partition, replicas: null })),
    { timeoutMs: ctx.requestTimeoutMs },
  );
  const outcome = results.map((r) => ({
    topic: r.topic,
    partition: r.partition,
    outcome: r.error === null ? 'cancelled' : r.error.code === NO_REASSIGNMENT_IN_PROGRESS ? 'not-in-progress' : 'failed',
    error: r.error === null || r.error.code === NO_REASSIGNMENT_IN_PROGRESS ? null : r.error.message,
  }));
  if (ctx.json) ctx.outJson({ results: outcome });
  else {
    for (const o of outcome) {
      const name = `${o.topic}-${o.partition}`;
      ctx.out(o.outcome === 'cancelled' ? `Cancelled the reassignment of ${name}` : o.outcome === 'not-in-progress' ? `No reassignment of ${name} in progress` : `Error cancelling the reassignment of ${name}: ${o.error}`);
    }
  }
  const failed = results.filter((r) => r.error !== null && r.error.code !== NO_REASSIGNMENT_IN_PROGRESS);
  if (failed.length > 0) {
    const first = failed[0]!.error!;
    throw new KafkaError(first.code, first.name, `${first.name}: ${failed.length} of ${results.length} reassignments could not be cancelled`);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
