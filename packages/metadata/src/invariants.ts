/**
 * Invariants of a metadata image, for tests, the simulator and debug checks in the controller. Each violation
 * is one line naming the partition or broker.
 *  - topics by name and by id hold the same topics; partition ids are contiguous from 0;
 *  - replicas: non-empty, distinct, and registered (unless `allowUnregisteredReplicas` names the id:
 *    UnregisterBroker leaves assignments behind, as in Kafka);
 *  - ISR: non-empty, distinct, within the replicas;
 *  - a partition with a leader: the leader is in the ISR, and every ISR member (the leader included) is
 *    registered, unfenced and not shutting down;
 *  - a partition without a leader: no ISR member could lead (each is unregistered, fenced or shutting down);
 *  - a reassignment in progress: adding and removing replicas are distinct, disjoint and within the replicas,
 *    removing leaves a replica behind, and not every target replica is in the ISR yet (the change that put
 *    the last one in completes it);
 *  - epochs are non-negative; nextBrokerEpoch is above every broker's epoch;
 *  - topic configs belong to existing topics.
 */
import { isReassigning, targetReplicas, type MetadataImage } from './image.ts';
import { NO_LEADER } from './records.ts';

export interface InvariantOptions {
  readonly allowUnregisteredReplicas?: ReadonlySet<number>;
}

export function imageInvariantViolations(image: MetadataImage, opts: InvariantOptions = {}): string[] {
  const out: string[] = [];
  const allowUnregistered = opts.allowUnregisteredReplicas ?? new Set<number>();
  if (image.topicsById.size !== image.topicsByName.size) out.push(`${image.topicsById.size} topics by id but ${image.topicsByName.size} by name`);
  for (const [name, topic] of image.topicsByName) {
    if (topic.name !== name || image.topicsById.get(topic.topicId) !== topic) out.push(`topic ${name}: name and id maps disagree`);
    topic.partitions.forEach((p, index) => {
      const at = `${name}-${index}`;
      if (p.partitionId !== index || p.topicId !== topic.topicId) out.push(`${at}: stored as ${p.topicId}/${p.partitionId}`);
      if (p.replicas.length === 0) out.push(`${at}: no replicas`);
      if (new Set(p.replicas).size !== p.replicas.length) out.push(`${at}: duplicate replicas [${p.replicas.join(',')}]`);
      for (const r of p.replicas) if (image.broker(r) === undefined && !allowUnregistered.has(r)) out.push(`${at}: replica ${r} is not registered`);
      if (p.isr.length === 0) out.push(`${at}: empty ISR`);
      if (new Set(p.isr).size !== p.isr.length) out.push(`${at}: duplicate ISR members [${p.isr.join(',')}]`);
      for (const r of p.isr) if (!p.replicas.includes(r)) out.push(`${at}: ISR member ${r} is not a replica`);
      if (isReassigning(p)) {
        for (const [what, xs] of [['adding', p.addingReplicas], ['removing', p.removingReplicas]] as const) {
          if (new Set(xs).size !== xs.length || !xs.every((r) => p.replicas.includes(r))) out.push(`${at}: ${what} replicas [${xs.join(',')}] are not a set within replicas`);
        }
        if (p.addingReplicas.some((r) => p.removingReplicas.includes(r))) out.push(`${at}: adding and removing replicas overlap`);
        const target = targetReplicas(p);
        if (target.length === 0) out.push(`${at}: removing every replica`);
        else if (target.every((r) => p.isr.includes(r))) out.push(`${at}: every target replica [${target.join(',')}] is in the ISR but the reassignment did not complete`);
      }
      if (p.leaderEpoch < 0 || p.partitionEpoch < 0) out.push(`${at}: negative epoch`);
      if (p.leader !== NO_LEADER) {
        if (!p.isr.includes(p.leader)) out.push(`${at}: leader ${p.leader} not in ISR [${p.isr.join(',')}]`);
        for (const r of p.isr) if (!image.isUsable(r)) out.push(`${at}: ISR member ${r} of a led partition is unregistered, fenced or shutting down`);
      } else {
        for (const r of p.isr) if (image.isUsable(r)) out.push(`${at}: leaderless although ISR member ${r} could lead`);
      }
    });
  }
  for (const b of image.brokers.values()) {
    if (b.brokerEpoch >= image.nextBrokerEpoch) out.push(`broker ${b.brokerId}: epoch ${b.brokerEpoch} not below nextBrokerEpoch ${image.nextBrokerEpoch}`);
  }
  for (const name of image.topicConfigs.keys()) if (image.topic(name) === undefined) out.push(`configs for missing topic ${name}`);
  return out;
}
