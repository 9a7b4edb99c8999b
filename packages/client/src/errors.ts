/** Errors the client raises. Each message names the broker and the API involved, so a one-line report is enough. */

/** An error code returned by a broker, carrying the code's protocol name (e.g. `TOPIC_ALREADY_EXISTS`). */
export class KafkaError extends Error {
  /** The protocol name of the error code, e.g. `UNKNOWN_TOPIC_OR_PARTITION`. */
  override name: string;
  readonly code: number;
  /** True for errors a fresh metadata lookup and a retry can cure (leader moved, topic still being created). */
  readonly retriable: boolean;

  constructor(code: number, name: string, message: string, retriable = false) {
    super(message);
    this.code = code;
    this.name = name;
    this.retriable = retriable;
  }
}

/** The connection to a broker failed, was lost, or was closed while a request was outstanding. */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
  readonly broker: string;
  /** The connection was never established, so no request went out: resending cannot duplicate anything. */
  readonly neverConnected: boolean;
  constructor(broker: string, message: string, options?: { cause?: unknown; neverConnected?: boolean }) {
    super(message, options);
    this.broker = broker;
    this.neverConnected = options?.neverConnected ?? false;
  }
}

/** A request got no response within its timeout. */
export class RequestTimeoutError extends Error {
  override name = 'RequestTimeoutError';
  readonly broker: string;
  constructor(broker: string, message: string) {
    super(message);
    this.broker = broker;
  }
}
