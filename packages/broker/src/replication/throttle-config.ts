/**
 * Keeps this broker's replication throttles at the rates its committed metadata gives it:
 * leader.replication.throttled.rate and follower.replication.throttled.rate, per broker or cluster-wide dynamic
 * value, else server.properties, else unthrottled. Runs on every image; recomputes only when the broker configs
 * changed (the image shares its brokerConfigs map until a config record arrives).
 */
import type { Clock, Logger } from '@tributary/common';
import type { MetadataImage } from '@tributary/metadata';
import { brokerConfigDefsByName, type BrokerConfig } from '../config/broker-config.ts';
import { effectiveBrokerConfig } from '../config/dynamic-broker-config.ts';
import type { ByteRateThrottle } from './throttle.ts';

export const LEADER_THROTTLED_RATE = 'leader.replication.throttled.rate';
export const FOLLOWER_THROTTLED_RATE = 'follower.replication.throttled.rate';

export interface ThrottleConfigOptions {
  nodeId: number;
  config: BrokerConfig;
  leader: ByteRateThrottle;
  follower: ByteRateThrottle;
  clock: Clock;
  logger: Logger;
}

export class ReplicationThrottleConfig {
  readonly #o: ThrottleConfigOptions;
  #seen: MetadataImage['brokerConfigs'] | null = null;

  constructor(o: ThrottleConfigOptions) {
    this.#o = o;
  }

  /** Applies the rates `image` gives this broker (cheap when its broker configs did not change). */
  apply(image: MetadataImage): void {
    if (image.brokerConfigs === this.#seen) return;
    this.#seen = image.brokerConfigs;
    this.#set(LEADER_THROTTLED_RATE, this.#o.leader, image);
    this.#set(FOLLOWER_THROTTLED_RATE, this.#o.follower, image);
  }

  #set(key: string, throttle: ByteRateThrottle, image: MetadataImage): void {
    const effective = effectiveBrokerConfig(image, this.#o.nodeId, this.#o.config, brokerConfigDefsByName.get(key)!);
    const rate = effective.value as number;
    if (rate === throttle.bytesPerSecond) return;
    this.#o.logger.info({ config: key, from: throttle.bytesPerSecond, to: rate, source: effective.source }, `replication throttle changed: ${key}=${rate >= Number.MAX_SAFE_INTEGER ? 'unthrottled' : `${rate} bytes/s`}`);
    throttle.setRate(rate, this.#o.clock.monotonicMs());
  }
}
