/**
 * Hands out producer ids from blocks reserved durably in the topic registry, so a restart never
 * reuses an id. (The controller quorum will allocate blocks cluster-wide later.)
 */
import type { TopicRegistry } from './metadata/topic-registry.ts';

export const PRODUCER_ID_BLOCK_SIZE = 1000;

export class ProducerIdManager {
  readonly #registry: TopicRegistry;
  #next = 0;
  #end = 0;
  #pending: Promise<void> | null = null;

  constructor(registry: TopicRegistry) {
    this.#registry = registry;
  }

  async nextProducerId(): Promise<number> {
    // Bounded: each round either returns or reserves a fresh block of PRODUCER_ID_BLOCK_SIZE ids.
    for (let round = 0; round < 3; round++) {
      if (this.#next < this.#end) return this.#next++;
      this.#pending ??= this.#registry.allocateProducerIdBlock(PRODUCER_ID_BLOCK_SIZE).then((start) => {
        this.#next = start;
        this.#end = start + PRODUCER_ID_BLOCK_SIZE;
        this.#pending = null;
      });
      await this.#pending;
    }
    throw new Error('could not reserve a producer id block');
  }
}
