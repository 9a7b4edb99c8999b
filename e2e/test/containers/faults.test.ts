// Faults in containers: 3 controller-only nodes + 3 brokers as containers (the harness' ContainerCluster, with the
// settings of deploy/compose/three-controllers-three-brokers.yml), a topic with 6 partitions, RF 3 and
// min.insync.replicas 2, three idempotent acks=all producers (librdkafka) writing the whole time, while the test in
// turn: kills the leader of a partition (docker kill) and restarts it; pauses a leader (the cgroup freezer) and
// resumes it; partitions the active controller from the brokers and heals; partitions a leader from its followers
// (its ISR shrinks, or acks=all on its partitions stops) and heals. Afterwards everything is read back and the
// harness' checker must find no acknowledged record lost, unseen or stored twice and no offset holding two values, and
// librdkafka must not have bumped a producer epoch (after a bump it re-sends unacknowledged records as new ones).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { KafkaClient } from '@tributary/client';
import { checkHistory, collectHistory, ContainerCluster, ProducerProcess, readBack, reportHtml, reportJson, topicHealthy, type HistoryOp } from '@tributary/harness';
import { describeContainers, tributaryImage } from '../../support/containers.ts';

const TOPIC = 'faults';
const PARTITIONS = 6;
const PRODUCERS = 3;
const RATE_PER_S = 100;
/** Longer than the brokers' 3 s session and replica lag timeouts, so each fault ends in a failover or an ISR shrink. */
const FAULT_MS = 8_000;
const QUIET_MS = 3_000;
const HEALTHY_TIMEOUT_MS = 60_000;
const DRAIN_TIMEOUT_MS = 150_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

describeContainers('faults in containers: 3 controllers + 3 brokers', () => {
  let cluster: ContainerCluster | null = null;
  const producers: ProducerProcess[] = [];
  const outDir = mkdtempSync(join(tmpdir(), 'trib-container-faults-'));
  let passed = false;
  const live = (): ContainerCluster => {
    if (cluster === null) throw new Error('cluster not started (see the beforeAll error)');
    return cluster;
  };

  /** A fresh client per question: no cached metadata survives a failover. */
  async function ask<T>(question: (client: KafkaClient) => Promise<T>): Promise<T> {
    const client = new KafkaClient({ bootstrapServers: live().bootstrap, clientId: 'trib-e2e-faults', requestTimeoutMs: 5_000, connectTimeoutMs: 3_000 });
    try {
      await client.connect();
      return await question(client);
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  const partitionsNow = async (): Promise<{ partition: number; leader: number; isr: number[] }[]> =>
    await ask(async (c) => (await c.metadata([TOPIC])).topics.find((t) => t.name === TOPIC)?.partitions ?? []);
  async function waitHealthy(after: string): Promise<void> {
    const deadline = Date.now() + HEALTHY_TIMEOUT_MS;
    while (!(await topicHealthy(live().bootstrap, TOPIC, PARTITIONS, 3))) {
      if (Date.now() > deadline) throw new Error(`after ${after}: ${TOPIC} did not get a leader and a full ISR on every partition within ${HEALTHY_TIMEOUT_MS} ms`);
      await sleep(500);
    }
  }

  beforeAll(async () => {
    cluster = await ContainerCluster.start({ controllers: 3, brokers: 3, image: tributaryImage });
    await ask(async (c) => await c.createTopics([{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }]));
    await waitHealthy('creating the topic');
  }, 240_000);
  afterAll(async () => {
    producers.forEach((p) => p.kill());
    if (cluster !== null) {
      if (!passed) {
        const tails = await cluster.logTails(80);
        writeFileSync(join(outDir, 'nodes.log'), Object.entries(tails).map(([n, t]) => `----- ${n} -----\n${t}`).join('\n'));
      }
      await cluster.destroy();
      // Checked whatever happened above: no container, volume or network of the run is left.
      expect(await cluster.leftovers()).toEqual([]);
    }
    if (passed) rmSync(outDir, { recursive: true, force: true });
    else process.stdout.write(`container faults: history, report and node logs kept in ${outDir}\n`);
  }, 120_000);

  test('kill, pause and partitions lose no acknowledged record and put none at two offsets', { timeout: 300_000 }, async () => {
    const c = live();
    const nemesis: HistoryOp[] = [];
    const stopFile = join(outDir, 'producers.stop');
    for (let i = 0; i < PRODUCERS; i++) producers.push(new ProducerProcess({ bootstrap: c.bootstrap, topic: TOPIC, name: `p${i}`, stopFile, ratePerS: RATE_PER_S }));
    const t0 = Date.now();
    const log = (line: string): void => void process.stdout.write(`+${((Date.now() - t0) / 1000).toFixed(1)}s ${line}\n`);

    /** Fault on, FAULT_MS of `observe` every second, fault off, then wait for every ISR to be full again. */
    async function fault(kind: string, detail: string, on: () => Promise<void>, off: () => Promise<void>, observe?: () => Promise<void>): Promise<{ startMs: number; stopMs: number }> {
      const startMs = Date.now();
      nemesis.push({ type: 'nemesis', fault: kind, phase: 'start', detail, timeMs: startMs });
      await on();
      log(`fault ${detail}`);
      while (Date.now() - startMs < FAULT_MS) {
        await sleep(1000);
        await observe?.().catch(() => undefined);
      }
      const stopMs = Date.now();
      nemesis.push({ type: 'nemesis', fault: kind, phase: 'stop', detail, timeMs: stopMs });
      await off();
      await waitHealthy(`healing ${detail}`);
      const acks = producers.flatMap((p) => p.ops).filter((op) => op.outcome === 'ok' && op.timeMs >= startMs && op.timeMs < stopMs).length;
      log(`healed ${detail}; ${acks} acknowledgements during the fault; every ISR full ${Date.now() - stopMs} ms after healing`);
      await sleep(QUIET_MS);
      return { startMs, stopMs };
    }
    const leaderName = async (partition: number): Promise<string> => c.nameOf((await partitionsNow()).find((p) => p.partition === partition)!.leader);

    let finished = false;
    try {
      await sleep(QUIET_MS);

      // 1. The leader of partition 0 killed (SIGKILL), then started again on the same volume.
      const killed = await leaderName(0);
      const leadersAfterKill = new Set<number>();
      await fault('kill', `docker kill ${killed} (leader of ${TOPIC}-0)`, () => c.kill([killed]), () => c.restart([killed]), async () => {
        leadersAfterKill.add((await partitionsNow()).find((p) => p.partition === 0)!.leader);
      });
      expect([...leadersAfterKill].filter((id) => id > 0 && c.nameOf(id) !== killed), `${TOPIC}-0 failed over from ${killed}`).not.toEqual([]);

      // 2. The leader of partition 1 frozen past its session timeout, then thawed.
      const paused = await leaderName(1);
      const leadersAfterPause = new Set<number>();
      await fault('pause', `docker pause ${paused} (leader of ${TOPIC}-1)`, () => c.pause([paused]), () => c.resume([paused]), async () => {
        leadersAfterPause.add((await partitionsNow()).find((p) => p.partition === 1)!.leader);
      });
      expect([...leadersAfterPause].filter((id) => id > 0 && c.nameOf(id) !== paused), `${TOPIC}-1 failed over from ${paused}`).not.toEqual([]);

      // 3. The active controller cut off from every broker (it keeps the other controllers).
      const controller = c.nameOf((await ask((client) => client.describeQuorum())).leaderId);
      await fault('partition', `${controller} (active controller) / ${c.brokerNames.join('+')}`, () => c.partition([controller], c.brokerNames), () => c.heal());
      const controllerAfter = c.nameOf((await ask((client) => client.describeQuorum())).leaderId);
      log(`active controller before the partition ${controller}, after ${controllerAfter}`);

      // 4. A leader cut off from its followers; it still reaches the controllers and the clients.
      const isolated = await leaderName(2);
      const isolatedId = c.info(isolated).id;
      const followers = c.brokerNames.filter((n) => n !== isolated);
      const led = new Set((await partitionsNow()).filter((p) => p.leader === isolatedId).map((p) => p.partition));
      let minIsr = 3;
      const window = await fault('partition', `${isolated} (leader of ${TOPIC}-${[...led].join(',')}) / its followers ${followers.join('+')}`, () => c.partition([isolated], followers), () => c.heal(), async () => {
        for (const p of await partitionsNow()) if (led.has(p.partition) && p.leader === isolatedId) minIsr = Math.min(minIsr, p.isr.length);
      });
      // With the ISR below min.insync.replicas no acks=all write may be acknowledged by the isolated leader; once
      // the replica lag timeout (3 s) has passed, writes to its partitions are acknowledged by nobody.
      const lateAcks = producers.flatMap((p) => p.ops).filter((op) => op.outcome === 'ok' && led.has(op.partition) && op.timeMs > window.startMs + 5_000 && op.timeMs < window.stopMs).length;
      log(`leader ${isolated} cut off from its followers: smallest ISR seen on its partitions ${minIsr}, acknowledgements on them 5 s into the partition ${lateAcks}`);
      expect(minIsr < 3 || lateAcks === 0, `ISR of ${isolated}'s partitions shrank (smallest seen ${minIsr}) or acks=all stopped (${lateAcks} late acks)`).toBe(true);
      finished = true;
    } finally {
      writeFileSync(stopFile, '');
      if (!finished) await c.healAll().catch(() => undefined);
    }

    await Promise.race([Promise.all(producers.map((p) => p.exited)), sleep(DRAIN_TIMEOUT_MS)]);
    producers.forEach((p) => p.kill());
    const endMs = Date.now();
    await waitHealthy('stopping the producers');
    const read = await readBack({ bootstrap: c.bootstrap, topic: TOPIC, partitions: PARTITIONS });
    const history = collectHistory({ topic: TOPIC, producers, read, extra: nemesis, endMs });
    writeFileSync(join(outDir, 'history.jsonl'), `${history.map((op) => JSON.stringify(op)).join('\n')}\n`);
    const report = checkHistory(history, { drained: true });
    const meta = { title: 'Tributary faults in containers', cluster: '3 controllers + 3 brokers (containers)', faults: 'kill, pause, partition', workload: `${PRODUCERS} idempotent acks=all producers at ${RATE_PER_S}/s, ${TOPIC}: ${PARTITIONS} partitions, RF 3, min.insync.replicas 2` };
    writeFileSync(join(outDir, 'report.json'), reportJson(report, meta));
    writeFileSync(join(outDir, 'report.html'), reportHtml(report, meta));
    const k = report.counts;
    log(
      `container faults: acknowledged ${k.sendsOk}, unknown ${k.sendsInfo}, failed ${k.sendsFail}, read ${read.records}; lost ${k.lostWrites}, ` +
        `unseen ${k.unseenWrites}, inconsistent offsets ${k.inconsistentOffsets}, duplicated ${k.duplicates}, nonmonotonic ${k.nonmonotonicPolls}, ` +
        `unexpected ${k.unexpectedValues}; ${k.faultWindows} fault windows, ${k.unavailabilityWindows} unavailability windows; producers unfinished: ${producers.filter((p) => p.sent === null).map((p) => p.name).join(', ') || 'none'}`,
    );
    const epochBumps = producers.reduce((n, p) => n + (p.epochBumps ?? 0), 0);
    log(`container faults: producer epoch bumps ${epochBumps}`);
    if (k.duplicates > 0) log(`container faults: ${k.duplicates} duplicated acknowledged value(s): ${JSON.stringify(report.duplicates.slice(0, 5))}`);
    expect(k.faultWindows).toBe(4);
    expect(k.sendsOk).toBeGreaterThan(1000);
    expect(read.short).toEqual([]);
    expect(report.lostWrites).toEqual([]);
    expect(k.lostWrites).toBe(0);
    expect(k.unseenWrites).toBe(0);
    expect(k.inconsistentOffsets).toBe(0);
    expect(k.duplicates).toBe(0);
    expect(epochBumps).toBe(0);
    passed = true;
  });
});
