/**
 * One nemesis run against real processes: validate everything, start the cluster, create the topic, start the
 * idempotent acks=all producers, play the seeded schedule (kill -9 / graceful stop / SIGSTOP / iptables
 * partitions / latency, loss and reordering of chosen nodes' packets / full or read-only node disks / power loss
 * (kill -9 of a node whose unsynced writes lived in its memory), each healed
 * before the next), stop the producers, heal, read everything back, check the history
 * and write the report. The cluster is torn down whatever happens.
 *
 * Written to `outDir`: history.jsonl (one op per line: re-check or re-render it later), schedule.json,
 * report.json, report.html, and, when the run failed or found anomalies, nodes/<name>/{stdout,stderr}.log
 * with the data folders (removed after a clean run unless keepNodes).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KafkaClient } from '@tributary/client';
import { checkHistory, type CheckReport } from '../checker/checker.ts';
import type { HistoryOp } from '../checker/history.ts';
import { describeEvent, nemesisSchedule, NemesisConfigError, validateNemesisConfig, type FaultSpec, type NemesisConfig, type NemesisEvent, type NemesisSchedule } from '../nemesis/schedule.ts';
import { reportHtml, reportJson } from '../report/report.ts';
import { checkMount, DISK_BYTES_DEFAULT, diskSizeProblems } from '../cluster/disks.ts';
import { checkIptables } from '../cluster/firewall.ts';
import { checkNetemTools, type NetemParams } from '../cluster/netem.ts';
import { checkContainerToolsSync, CONTAINER_BROKERS_MAX, ContainerCluster } from '../cluster/container-cluster.ts';
import type { FaultCluster } from '../cluster/fault-cluster.ts';
import { ProcessCluster } from '../cluster/process-cluster.ts';
import { ConsumerProcess, groupRewinds, type ConsumerOp } from './consumer.ts';
import { checkPython, defaultPython, ProducerProcess } from './producer.ts';
import { readBack } from './readback.ts';
import { unsupportedFaults, usesDisks, usesNetem } from './faults.ts';

export interface NemesisRunOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly controllers: number;
  readonly brokers: number;
  readonly faults: readonly FaultSpec[];
  readonly outDir: string;
  readonly topic?: string;
  readonly partitions?: number;
  readonly replicationFactor?: number;
  readonly minInsyncReplicas?: number;
  readonly producers?: number;
  /** Records per second per producer. */
  readonly ratePerS?: number;
  /**
   * Consumers reading during the run (default: 1 by assignment, 2 in one group): the checker reports their
   * nonmonotonic polls and skips. `{ assign: 0, group: 0 }` leaves only the final read-back.
   */
  readonly consumers?: ConsumerCounts;
  readonly faultMs?: readonly [number, number];
  readonly quietMs?: readonly [number, number];
  /** Keep the node folders after a clean run too. */
  readonly keepNodes?: boolean;
  /**
   * Give each node a tmpfs disk of its own (mounted by the harness, unmounted at teardown). Default: only when
   * disk-full or disk-readonly is among the faults, which need it.
   */
  readonly disks?: boolean;
  /** The size of each node's disk (default 256 MiB). */
  readonly diskBytes?: number;
  /**
   * Heal of disk-full/disk-readonly also restarts the nodes (graceful stop, start): a broker keeps a log whose flush
   * failed offline until it is reopened. Default true; false shows what the broker does without it.
   */
  readonly diskHealRestart?: boolean;
  /**
   * Run the nodes as containers of this image (scripts/setup-docker.sh builds `tributary:test`) instead of local
   * processes: same schedule, workload, checker and report (needs root, a docker engine, nsenter, iptables).
   */
  readonly image?: string;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

export interface ConsumerCounts {
  /** Consumers that assign every partition from the log start. */
  readonly assign?: number;
  /** Consumers that subscribe in one group (committing after each batch). */
  readonly group?: number;
}

export interface NemesisRunResult {
  readonly report: CheckReport;
  readonly schedule: NemesisSchedule;
  readonly outDir: string;
  readonly reportJsonPath: string;
  readonly reportHtmlPath: string;
  readonly historyPath: string;
  /** The faults as they were actually applied (times from the run's start). */
  /** Each event as played; `effect` says what it did where that is measurable (bytes a disk filler took). */
  readonly applied: readonly { atMs: number; detail: string; effect?: string }[];
  /** The cluster was healthy again (every ISR full) before the read-back. */
  readonly healthyAtEnd: boolean;
  /** One line: the counts that matter. */
  readonly summary: string;
  /** librdkafka producer-epoch bumps over every producer that finished (see ProducerProcess.epochBumps). */
  readonly producerEpochBumps: number;
  /** Per live consumer: records read, assignments (sessions), errors reported, and whether it ended cleanly. */
  readonly consumers: readonly ConsumerSummary[];
  /**
   * Group members that resumed a partition with no committed offset or below what the group had read (see
   * groupRewinds): not a checker anomaly (a rebalance starts a new session), but a sign of lost commits.
   */
  readonly groupRewinds: ReturnType<typeof groupRewinds>;
}

export interface ConsumerSummary {
  readonly name: string;
  readonly mode: 'assign' | 'group';
  readonly polls: number;
  readonly assignments: number;
  readonly errors: number;
  readonly finished: boolean;
}

const DEFAULTS = { topic: 'chaos', partitions: 6, producers: 3, ratePerS: 100, consumers: { assign: 1, group: 2 }, faultMs: [5_000, 15_000] as const, quietMs: [5_000, 10_000] as const };
const producerDrainMs = 180_000;
const groupJoinStaggerMs = 10_000;
const healthyTimeoutMs = 120_000;

/** The schedule's configuration for a run; its problems plus the runner's own, all at once. */
export function runConfig(o: NemesisRunOptions): { config: NemesisConfig; problems: string[] } {
  const replicationFactor = o.replicationFactor ?? Math.min(3, Number.isSafeInteger(o.brokers) && o.brokers > 0 ? o.brokers : 1);
  const config: NemesisConfig = {
    seed: o.seed,
    cluster: { controllers: o.controllers, brokers: o.brokers, combined: false, replicationFactor },
    faults: o.faults,
    durationMs: o.durationMs,
    faultMs: o.faultMs ?? DEFAULTS.faultMs,
    quietMs: o.quietMs ?? DEFAULTS.quietMs,
  };
  const problems = [...validateNemesisConfig(config), ...unsupportedFaults(o.faults, o.image !== undefined ? 'containers' : 'processes')];
  if (o.image !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._\/:@-]*$/.test(o.image)) problems.push(`image must be a docker image reference such as tributary:test, got ${JSON.stringify(o.image)}`);
    if (Number.isSafeInteger(o.brokers) && o.brokers > CONTAINER_BROKERS_MAX) problems.push(`a container cluster runs at most ${CONTAINER_BROKERS_MAX} brokers, got ${o.brokers}; use fewer or run local processes (no image)`);
  }
  const partitions = o.partitions ?? DEFAULTS.partitions;
  if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > 1000) problems.push(`partitions must be an integer in 1..1000, got ${String(partitions)}`);
  const producers = o.producers ?? DEFAULTS.producers;
  if (!Number.isSafeInteger(producers) || producers < 1 || producers > 32) problems.push(`producers must be an integer in 1..32, got ${String(producers)}`);
  for (const mode of ['assign', 'group'] as const) {
    const n = o.consumers?.[mode] ?? DEFAULTS.consumers[mode];
    if (!Number.isSafeInteger(n) || n < 0 || n > 16) problems.push(`consumers.${mode} must be an integer in 0..16, got ${String(n)}`);
  }
  const rate = o.ratePerS ?? DEFAULTS.ratePerS;
  if (!(rate > 0 && rate <= 10_000)) problems.push(`ratePerS must be in (0, 10000], got ${String(rate)}`);
  const minIsr = o.minInsyncReplicas ?? Math.min(2, replicationFactor);
  if (!Number.isSafeInteger(minIsr) || minIsr < 1 || minIsr > replicationFactor) problems.push(`minInsyncReplicas must be in 1..${replicationFactor} (the replication factor), got ${String(minIsr)}`);
  if (o.disks === false && usesDisks(o.faults)) problems.push('disks: false, but disk-full/disk-readonly need each node on a disk of its own; drop disks: false or those faults');
  if (wantsDisks(o)) problems.push(...diskSizeProblems(o.diskBytes ?? DISK_BYTES_DEFAULT));
  return { config, problems };
}

const wantsDisks = (o: NemesisRunOptions): boolean => o.disks ?? usesDisks(o.faults);

/** Everything checked before anything starts: configuration, schedule, and the tools the run needs. */
export function prepareRun(o: NemesisRunOptions): NemesisSchedule {
  const { config, problems } = runConfig(o);
  problems.push(...checkPython());
  if (usesNetem(o.faults)) problems.push(...checkNetemTools(defaultPython));
  if (wantsDisks(o)) problems.push(...checkMount());
  // Containers are partitioned with iptables inside their own namespaces: the host's iptables must run, not own rules.
  if (o.image !== undefined) problems.push(...checkContainerToolsSync(o.image));
  if (problems.length > 0) throw new NemesisConfigError(problems);
  const schedule = nemesisSchedule(config);
  if (o.image === undefined && o.faults.some((f) => f.fault === 'partition')) checkIptables();
  return schedule;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Every partition of the topic has a leader and a full ISR, as a live broker reports it. */
export async function topicHealthy(bootstrap: string, topic: string, partitions: number, replicationFactor: number): Promise<boolean> {
  const client = new KafkaClient({ bootstrapServers: bootstrap, clientId: 'trib-chaos', requestTimeoutMs: 5_000, connectTimeoutMs: 3_000 });
  try {
    await client.connect();
    const md = await client.metadata([topic]);
    const t = md.topics.find((x) => x.name === topic);
    return t !== undefined && t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0 && p.isr.length === replicationFactor);
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function waitHealthy(bootstrap: string, topic: string, partitions: number, rf: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await topicHealthy(bootstrap, topic, partitions, rf)) return true;
    await sleep(500);
  }
  return false;
}

/** The netem parameters of a schedule event (the schedule validated them). */
export function netemParams(e: NemesisEvent): NetemParams {
  const p = e.params ?? {};
  const field = (name: string): number => {
    const v = p[name];
    if (typeof v !== 'number') throw new Error(`${e.fault} event of window ${e.window} has no ${name}`);
    return v;
  };
  switch (e.fault) {
    case 'latency': return { kind: 'latency', delayMs: field('delayMs'), jitterMs: p.jitterMs ?? 0 };
    case 'loss': return { kind: 'loss', percent: field('percent') };
    case 'reorder': return { kind: 'reorder', percent: field('percent'), delayMs: field('delayMs') };
    default: throw new Error(`${e.fault} is not a netem fault`);
  }
}

/** Plays one event; returns what it measurably did, if anything. */
async function apply(cluster: FaultCluster, e: NemesisEvent, diskHealRestart: boolean): Promise<string | undefined> {
  switch (e.fault) {
    case 'kill':
      if (e.phase === 'start') await cluster.kill(e.targets);
      else await cluster.restart(e.targets);
      return;
    case 'stop':
      if (e.phase === 'start') await cluster.stop(e.targets);
      else await cluster.restart(e.targets);
      return;
    case 'pause':
      if (e.phase === 'start') await cluster.pause(e.targets);
      else await cluster.resume(e.targets);
      return;
    case 'partition':
      if (e.phase === 'start') await cluster.partition(e.sides![0], e.sides![1], e.oneWay ?? false);
      else await cluster.heal();
      return;
    case 'latency':
    case 'loss':
    case 'reorder':
      if (e.phase === 'start') await cluster.netem(e.targets, netemParams(e));
      else await cluster.netemHeal();
      return;
    case 'disk-full':
    case 'disk-readonly':
      if (e.phase === 'start') {
        if (e.fault === 'disk-full') {
          const filled = cluster.diskFull(e.targets);
          return Object.entries(filled).map(([n, bytes]) => `${n}: filler took ${bytes} bytes`).join(', ');
        }
        await cluster.diskReadonly(e.targets);
        return;
      }
      await cluster.diskHeal(e.targets);
      // A log whose flush failed (ENOSPC writing an index, any EROFS) refuses writes until it is reopened, like
      // Kafka's offline log dir: the node must restart to take its replicas back.
      if (diskHealRestart) {
        await cluster.stop(e.targets);
        await cluster.restart(e.targets);
      }
      return;
    case 'power-loss':
      if (e.phase === 'start') await cluster.powerLoss(e.targets);
      else await cluster.restart(e.targets);
      return;
    default:
      throw new Error(`fault ${e.fault} is not supported by the nemesis runner`);
  }
}

export async function runNemesis(o: NemesisRunOptions): Promise<NemesisRunResult> {
  const schedule = prepareRun(o);
  const log = o.log ?? ((): void => undefined);
  const outDir = resolve(o.outDir);
  const topic = o.topic ?? DEFAULTS.topic;
  const partitions = o.partitions ?? DEFAULTS.partitions;
  const rf = o.replicationFactor ?? Math.min(3, o.brokers);
  const minIsr = o.minInsyncReplicas ?? Math.min(2, rf);
  const nodesDir = join(outDir, 'nodes');
  mkdirSync(outDir, { recursive: true });
  rmSync(nodesDir, { recursive: true, force: true });
  writeFileSync(join(outDir, 'schedule.json'), `${JSON.stringify(schedule, null, 2)}\n`);
  const historyPath = join(outDir, 'history.jsonl');
  const reportJsonPath = join(outDir, 'report.json');
  const reportHtmlPath = join(outDir, 'report.html');

  const history: HistoryOp[] = [];
  const applied: { atMs: number; detail: string; effect?: string }[] = [];
  const producers: ProducerProcess[] = [];
  const consumers: ConsumerProcess[] = [];
  let keepNodes = o.keepNodes ?? false;
  log(`nemesis seed ${o.seed}: ${o.controllers} controllers + ${o.brokers} brokers, ${schedule.events.length / 2} fault windows over ${o.durationMs} ms; output in ${outDir}`);
  const faultOptions = {
    controllers: o.controllers,
    brokers: o.brokers,
    dir: nodesDir,
    netem: usesNetem(o.faults),
    lazyFs: o.faults.some((f) => f.fault === 'power-loss'),
    seed: o.seed,
    ...(wantsDisks(o) ? { diskBytes: o.diskBytes ?? DISK_BYTES_DEFAULT } : {}),
  };
  const cluster: FaultCluster = o.image !== undefined
    ? await ContainerCluster.start({ ...faultOptions, image: o.image })
    : await ProcessCluster.start({ ...faultOptions, partitions: o.faults.some((f) => f.fault === 'partition') });
  try {
    const admin = new KafkaClient({ bootstrapServers: cluster.bootstrap, clientId: 'trib-chaos', requestTimeoutMs: 15_000 });
    try {
      await admin.connect();
      await admin.createTopics([{ name: topic, numPartitions: partitions, replicationFactor: rf, configs: { 'min.insync.replicas': String(minIsr) } }]);
    } finally {
      await admin.close();
    }
    if (!(await waitHealthy(cluster.bootstrap, topic, partitions, rf, healthyTimeoutMs))) throw new Error(`topic ${topic} did not get a leader and a full ISR on every partition within ${healthyTimeoutMs} ms of starting`);
    log(`cluster up: brokers ${cluster.bootstrap}`);

    const stopFile = join(outDir, 'producers.stop');
    rmSync(stopFile, { force: true });
    const count = o.producers ?? DEFAULTS.producers;
    for (let i = 0; i < count; i++) producers.push(new ProducerProcess({ bootstrap: cluster.bootstrap, topic, name: `p${i}`, stopFile, ratePerS: o.ratePerS ?? DEFAULTS.ratePerS }));
    // Consumers stop with the producers (same stop file); whatever they did not get to, the read-back reads.
    const consumerCounts = { assign: o.consumers?.assign ?? DEFAULTS.consumers.assign, group: o.consumers?.group ?? DEFAULTS.consumers.group };
    for (let i = 0; i < consumerCounts.assign; i++) consumers.push(new ConsumerProcess({ bootstrap: cluster.bootstrap, topic, name: `ca${i}`, mode: 'assign', stopFile }));
    // Members join one after another, so every join rebalances the group while it reads (re-reads start new sessions).
    const joinStaggerMs = Math.min(groupJoinStaggerMs, Math.floor(o.durationMs / (2 * Math.max(1, consumerCounts.group))));
    for (let i = 0; i < consumerCounts.group; i++) consumers.push(new ConsumerProcess({ bootstrap: cluster.bootstrap, topic, name: `cg${i}`, mode: 'group', group: `trib-chaos-${o.seed}`, stopFile, startDelayMs: i * joinStaggerMs }));
    const t0 = Date.now();
    try {
      for (const e of schedule.events) {
        await sleep(t0 + e.atMs - Date.now());
        const detail = describeEvent(e);
        const atMs = Date.now() - t0;
        history.push({ type: 'nemesis', fault: e.fault, phase: e.phase, detail, timeMs: Date.now() });
        const effect = await apply(cluster, e, o.diskHealRestart ?? true);
        applied.push({ atMs, detail, ...(effect !== undefined ? { effect } : {}) });
        log(`+${(atMs / 1000).toFixed(1)}s ${e.phase === 'start' ? 'fault' : 'heal '} ${detail}${effect !== undefined ? ` (${effect})` : ''}${e.phase === 'stop' ? ` (done after ${Date.now() - t0 - atMs} ms)` : ''}`);
      }
      await sleep(t0 + o.durationMs - Date.now());
    } finally {
      writeFileSync(stopFile, '');
      // Every node back before the producers drain: their outstanding records need a leader to land.
      await cluster.healAll();
    }
    await Promise.race([Promise.all([...producers.map((p) => p.exited), ...consumers.map((c) => c.exited)]), sleep(producerDrainMs)]);
    producers.forEach((p) => p.kill());
    consumers.forEach((c) => c.kill());
    await Promise.all(consumers.map((c) => c.exited));
    const healthyAtEnd = await waitHealthy(cluster.bootstrap, topic, partitions, rf, healthyTimeoutMs);
    log(`producers stopped; cluster ${healthyAtEnd ? 'healthy' : 'NOT healthy (an ISR is not full)'}; reading back`);

    for (const p of producers) {
      for (const op of p.ops) history.push(op); // not push(...ops): a 30-minute run has more ops than the stack has room for arguments
      const endMs = Date.now();
      for (const value of p.unreported()) history.push({ type: 'send', process: p.name, topic, partition: 0, key: value, value, outcome: 'info', timeMs: endMs });
    }
    const read = await readBack({ bootstrap: cluster.bootstrap, topic, partitions });
    // A producer that did not finish cleanly may have made values beyond its last report: unknown, not unexpected.
    const sent = new Set(history.flatMap((op) => (op.type === 'send' ? [op.value] : [])));
    const reads: HistoryOp[] = [];
    for (const op of read.ops) reads.push(op);
    for (const c of consumers) for (const op of c.ops) reads.push(op);
    for (const op of reads) {
      if (op.type !== 'poll' || sent.has(op.value)) continue;
      const p = producers.find((x) => x.sent === null && op.value.startsWith(`${x.name}-`));
      if (p !== undefined) {
        history.push({ type: 'send', process: p.name, topic, partition: op.partition, key: op.value, value: op.value, outcome: 'info', timeMs: op.timeMs });
        sent.add(op.value);
      }
    }
    for (const op of reads) history.push(op);
    // Stable: ops of one process keep their order.
    history.sort((a, b) => a.timeMs - b.timeMs);
    writeFileSync(historyPath, history.map((op) => JSON.stringify(op)).join('\n') + '\n');

    const report = checkHistory(history, { drained: true });
    const producerEpochBumps = producers.reduce((n, p) => n + (p.epochBumps ?? 0), 0);
    const consumerSummaries: ConsumerSummary[] = consumers.map((x) => ({ name: x.name, mode: x.parser.mode, polls: x.parser.polls, assignments: x.parser.assignments, errors: x.parser.errorCount, finished: x.parser.done }));
    const consumerReads = consumerSummaries.reduce((n, x) => n + x.polls, 0);
    const groupOps: ConsumerOp[] = [];
    for (const x of consumers) if (x.parser.mode === 'group') for (const op of x.ops) groupOps.push(op);
    const rewinds = groupRewinds(groupOps.sort((a, b) => a.timeMs - b.timeMs));
    const c = report.counts;
    const summary =
      `seed ${o.seed}: ${c.sendsOk} acknowledged, ${c.sendsInfo} unknown, ${c.sendsFail} failed, ${read.records} read back, ${consumerReads} read by ${consumers.length} live consumers (group rewinds ${rewinds.count}, up to ${rewinds.rereadBound} re-read, lost commits ${rewinds.lostCommits}); ` +
      `lost ${c.lostWrites}, duplicated ${c.duplicates}, inconsistent offsets ${c.inconsistentOffsets}, nonmonotonic ${c.nonmonotonicPolls}, skips ${c.skips}, ` +
      `unexpected ${c.unexpectedValues}, failed-but-read ${c.failedButRead}; ${c.faultWindows} fault windows, ${c.unavailabilityWindows} unavailability windows; ` +
      `producer epoch bumps ${producerEpochBumps}`;
    const meta = {
      title: `Tributary nemesis run, seed ${o.seed}`,
      seed: o.seed,
      cluster: `${o.controllers} controllers + ${o.brokers} brokers (${o.image !== undefined ? `containers of ${o.image}` : 'local processes'})`,
      faults: o.faults.map((f) => f.fault).join(', '),
      durationMs: o.durationMs,
      workload: `${count} idempotent acks=all producers (librdkafka) at ${o.ratePerS ?? DEFAULTS.ratePerS}/s each, topic ${topic} with ${partitions} partitions, RF ${rf}, min.insync.replicas ${minIsr}; live consumers: ${consumerCounts.assign} by assignment, ${consumerCounts.group} in group trib-chaos-${o.seed}; final read-back with kcat`,
      healthyAtEnd,
      readBackShort: read.short,
      producersUnfinished: producers.filter((p) => p.sent === null).map((p) => ({ name: p.name, stderr: p.stderr.slice(-1000) })),
      producerEpochBumps,
      consumers: consumers.map((x, i) => ({ ...consumerSummaries[i]!, firstErrors: x.parser.errors.slice(0, 5), stderr: x.parser.done ? '' : x.stderr.slice(-1000) })),
      groupRewinds: rewinds,
      applied,
    };
    writeFileSync(reportJsonPath, reportJson(report, meta));
    writeFileSync(reportHtmlPath, reportHtml(report, meta));
    if (!report.valid) keepNodes = true;
    log(summary);
    return { report, schedule, outDir, reportJsonPath, reportHtmlPath, historyPath, applied, healthyAtEnd, summary, producerEpochBumps, consumers: consumerSummaries, groupRewinds: rewinds };
  } catch (err) {
    keepNodes = true;
    const tails = await cluster.logTails(60);
    writeFileSync(join(outDir, 'failure.txt'), `${(err as Error).stack ?? String(err)}\n\n${Object.entries(tails).map(([n, t]) => `----- ${n} -----\n${t}`).join('\n')}\n`);
    throw err;
  } finally {
    producers.forEach((p) => p.kill());
    consumers.forEach((c) => c.kill());
    // Containers' logs go with the containers: a kept run keeps them (nodes/<name>/container.log).
    if (keepNodes && o.image !== undefined) {
      const tails = await Promise.resolve(cluster.logTails(10_000)).catch(() => ({}));
      for (const [name, text] of Object.entries(tails)) {
        mkdirSync(join(nodesDir, name), { recursive: true });
        writeFileSync(join(nodesDir, name, 'container.log'), text);
      }
    }
    // The disks live in RAM: a kept run keeps a copy of each node's data (nodes/<name>/data-saved).
    await cluster.destroy({ saveData: keepNodes });
    if (!keepNodes) rmSync(nodesDir, { recursive: true, force: true });
  }
}
