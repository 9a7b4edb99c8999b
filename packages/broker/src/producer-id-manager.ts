/**
 * Hands out producer ids from blocks the controller quorum allocates cluster-wide (committed before they are
 * handed out), so no two brokers and no restart ever reuse an id.
 */
export interface ProducerIdBlock {
  start: number;
  length: number;
}

export class ProducerIdManager {
  readonly #allocate: () => Promise<ProducerIdBlock>;
  #next = 0;
  #end = 0;
  #pending: Promise<void> | null = null;

  constructor(allocate: () => Promise<ProducerIdBlock>) {
    this.#allocate = allocate;
  }

  async nextProducerId(): Promise<number> {
    // Bounded: each round either returns or fetches a fresh block.
    for (let round = 0; round < 3; round++) {
      if (this.#next < this.#end) return this.#next++;
      this.#pending ??= this.#allocate()
        .then((block) => {
          this.#next = block.start;
          this.#end = block.start + block.length;
        })
        .finally(() => {
          this.#pending = null;
        });
      await this.#pending;
    }
    throw new Error('could not obtain a producer id block');
  }
}
