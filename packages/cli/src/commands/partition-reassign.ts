import { readFile } from 'node:fs/promises';
import { KafkaError, type KafkaClient, type TopicMetadata } from '@tributary/client';
import { UsageError, type CommandContext } from '../context.ts';
import { generatePlan, parsePlan, planOf, progressBar, summarize, verifyLineText, verifyPartition, type ReassignmentPlan, type VerifyLine } from '../reassign.ts';

export type ReassignArgs =
  | { mode: 'generate'; topics: string[]; brokers: number[] }
  | { mode: 'execute'; planFile: string }
  | { mode: 'verify'; planFile: string; wait: boolean; intervalMs: number; timeoutMs: number }
  | { mode: 'cancel'; planFile: string };

const NO_REASSIGNMENT_IN_PROGRESS = 85;
/** A plan file is read whole: larger than this is not a plan. */
const MAX_PLAN_BYTES = 64 * 1024 * 1024;

/**
 * `trib partition reassign`, like kafka-reassign-partitions.sh: --generate a balanced plan for a broker list,
 * --execute it (printing the current assignment first, for a rollback), --verify its progress (--wait: until it
 * completes, a progress bar on a terminal), --cancel what is still moving.
 */
export async function partitionReassign(ctx: CommandContext, args: ReassignArgs): Promise<void> {
  switch (args.mode) {
    case 'generate':
      return generate(ctx, args.topics, args.brokers);
    case 'execute':
      return execute(ctx, await readPlan(args.planFile));
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

async function execute(ctx: CommandContext, plan: ReassignmentPlan): Promise<void> {
  const client = ctx.client();
  const current = await currentAssignment(client, plan);
  const results = await client.alterPartitionReassignments(plan.partitions, { timeoutMs: ctx.requestTimeoutMs });
  const failed = results.filter((r) => r.error !== null);
  if (ctx.json) {
    ctx.outJson({ current, results: results.map((r) => ({ topic: r.topic, partition: r.partition, error: r.error?.message ?? null })) });
  } else {
    ctx.out('Current partition replica assignment');
    ctx.out(JSON.stringify(current));
    ctx.out('');
    ctx.out('Save this to use as the --plan of an --execute during rollback');
    const started = results.filter((r) => r.error === null).map((r) => `${r.topic}-${r.partition}`);
    if (started.length > 0) ctx.out(`Successfully started partition reassignment${started.length === 1 ? '' : 's'} for ${started.join(', ')}`);
    for (const f of failed) ctx.out(`Error reassigning partition ${f.topic}-${f.partition}: ${f.error!.message}`);
  }
  if (failed.length > 0) {
    const first = failed[0]!.error!;
    throw new KafkaError(first.code, first.name, `${first.name}: ${failed.length} of ${results.length} partitions could not be reassigned`);
  }
}

async function verifyOnce(client: KafkaClient, plan: ReassignmentPlan, timeoutMs: number): Promise<VerifyLine[]> {
  const ongoing = await client.listPartitionReassignments(plan.partitions, { timeoutMs });
  const md = await client.metadata([...new Set(plan.partitions.map((p) => p.topic))]);
  const topics = new Map(md.topics.filter((t) => t.errorCode === 0).map((t) => [t.name, t]));
  return plan.partitions.map((p) =>
    verifyPartition(
      p,
      ongoing.find((o) => o.topic === p.topic && o.partition === p.partition),
      topics.get(p.topic)?.partitions.find((x) => x.partition === p.partition),
    ),
  );
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
  if (ctx.json) {
    ctx.outJson({ partitions: lines, ...summary });
  } else {
    if (tty && lastShown !== '') ctx.io.stdout.write(`\r${progressBar(summary)}\n`);
    for (const l of lines) ctx.out(verifyLineText(l));
    if (!tty || lastShown === '') ctx.out(progressBar(summary));
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
