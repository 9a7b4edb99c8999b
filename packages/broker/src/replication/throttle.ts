/**
 * Replication throttling (Kafka's leader/follower.replication.throttled.rate): a token bucket of bytes per second
 * shared by everything it throttles on this broker. Only replicas catching up in a reassignment are throttled, so
 * moving a partition does not starve the replication that keeps the ISR in sync. Pure: time is passed in.
 */
export class ByteRateThrottle {
  readonly bytesPerSecond: number;
  #tokens: number;
  #lastMs: number;

  /** `bytesPerSecond` >= Number.MAX_SAFE_INTEGER (the default) means unthrottled. */
  constructor(bytesPerSecond: number, nowMs: number) {
    this.bytesPerSecond = bytesPerSecond;
    this.#tokens = bytesPerSecond;
    this.#lastMs = nowMs;
  }

  get unlimited(): boolean {
    return this.bytesPerSecond >= Number.MAX_SAFE_INTEGER;
  }

  #refill(nowMs: number): void {
    const elapsedMs = Math.max(0, nowMs - this.#lastMs);
    this.#lastMs = nowMs;
    // At most one second of burst.
    this.#tokens = Math.min(this.bytesPerSecond, this.#tokens + (elapsedMs * this.bytesPerSecond) / 1000);
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
    return Math.ceil((-this.#tokens / this.bytesPerSecond) * 1000) + 1;
  }
}
