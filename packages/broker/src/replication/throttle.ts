/**
 * Replication throttling (Kafka's leader/follower.replication.throttled.rate): a token bucket of bytes per second
 * shared by everything it throttles on this broker. Only replicas catching up in a reassignment are throttled, so
 * moving a partition does not starve the replication that keeps the ISR in sync. Pure: time is passed in.
 */
export class ByteRateThrottle {
  #bytesPerSecond: number;
  #tokens: number;
  #lastMs: number;

  /** `bytesPerSecond` >= Number.MAX_SAFE_INTEGER (the default) means unthrottled. */
  constructor(bytesPerSecond: number, nowMs: number) {
    ByteRateThrottle.#check(bytesPerSecond);
    this.#bytesPerSecond = bytesPerSecond;
    this.#tokens = bytesPerSecond;
    this.#lastMs = nowMs;
  }

  static #check(bytesPerSecond: number): void {
    if (!(Number.isFinite(bytesPerSecond) && bytesPerSecond >= 1)) {
      throw new RangeError(`a replication throttle rate must be at least 1 byte/s, got ${bytesPerSecond}`);
    }
  }

  get bytesPerSecond(): number {
    return this.#bytesPerSecond;
  }

  get unlimited(): boolean {
    return this.#bytesPerSecond >= Number.MAX_SAFE_INTEGER;
  }

  /**
   * Changes the rate from now on (a dynamic config change). Time so far is credited at the old rate; the balance
   * is capped at one second of the new rate, so lowering the rate (or throttling an unthrottled bucket) allows at
   * most one second of burst; a debt is kept and repaid at the new rate.
   */
  setRate(bytesPerSecond: number, nowMs: number): void {
    ByteRateThrottle.#check(bytesPerSecond);
    if (bytesPerSecond === this.#bytesPerSecond) return;
    if (this.unlimited) {
      // Nothing was counted while unthrottled: start full, as a new bucket does.
      this.#lastMs = nowMs;
      this.#tokens = bytesPerSecond;
    } else {
      this.#refill(nowMs);
      this.#tokens = Math.min(this.#tokens, bytesPerSecond);
    }
    this.#bytesPerSecond = bytesPerSecond;
  }

  #refill(nowMs: number): void {
    const elapsedMs = Math.max(0, nowMs - this.#lastMs);
    this.#lastMs = nowMs;
    // At most one second of burst.
    this.#tokens = Math.min(this.#bytesPerSecond, this.#tokens + (elapsedMs * this.#bytesPerSecond) / 1000);
  }

  /** Whether throttled data may be fetched now (the bucket is not in debt). */
  allows(nowMs: number): boolean {
    if (this.unlimited) return true;
    this.#refill(nowMs);
    return this.#tokens > 0;
  }

  /** Bytes that were fetched; the bucket may go into debt (a fetch returns at least one batch). */
  record(bytes: number, nowMs: number): void {
    if (this.unlimited) return;
    this.#refill(nowMs);
    this.#tokens -= bytes;
  }

  /** How long until throttled data may be fetched again (0 when it may now). */
  delayMs(nowMs: number): number {
    if (this.allows(nowMs)) return 0;
    return Math.ceil((-this.#tokens / this.#bytesPerSecond) * 1000) + 1;
  }
}
