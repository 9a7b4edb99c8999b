/**
 * ControllerError: a call that did not run (or whose outcome is unknown), as opposed to the Kafka error codes that
 * operations answer in their bodies. Every one carries the Kafka error code a Kafka client would see, a reason
 * (the `tributary-error` trailer on the wire) and, for NOT_CONTROLLER, the active controller this node knows.
 */
import { ErrorCode as MetadataErrorCode } from '@tributary/metadata';

/** The metadata package's codes plus the ones only the controller runtime answers (Kafka's numbers). */
export const ErrorCode = {
  ...MetadataErrorCode,
  REQUEST_TIMED_OUT: 7,
  INCONSISTENT_CLUSTER_ID: 104,
} as const;

export type ControllerErrorReason =
  /** This node is not the active controller; retry at `activeControllerId`. */
  | 'not-controller'
  /** The request's cluster id is not this cluster's. */
  | 'cluster-mismatch'
  /** A field out of range, too many items, a bad uuid, ... */
  | 'malformed'
  /** The operation's records would not fit one metadata log entry. */
  | 'too-large'
  /** The operation queue is full. */
  | 'overloaded'
  /** Not answered in time; a write's outcome is unknown. */
  | 'timeout'
  /** No controller could be reached (client side). */
  | 'unavailable'
  /** The node is stopping. */
  | 'stopped'
  | 'internal';

const KAFKA_CODE: Readonly<Record<ControllerErrorReason, number>> = Object.freeze({
  'not-controller': ErrorCode.NOT_CONTROLLER,
  'cluster-mismatch': ErrorCode.INCONSISTENT_CLUSTER_ID,
  malformed: ErrorCode.INVALID_REQUEST,
  'too-large': ErrorCode.INVALID_REQUEST,
  overloaded: ErrorCode.REQUEST_TIMED_OUT,
  timeout: ErrorCode.REQUEST_TIMED_OUT,
  unavailable: ErrorCode.NOT_CONTROLLER,
  stopped: ErrorCode.NOT_CONTROLLER,
  internal: ErrorCode.UNKNOWN_SERVER_ERROR,
});

/** Reasons after which the same call may be sent again (to another controller): the operation did not run. */
const RETRIABLE: ReadonlySet<ControllerErrorReason> = new Set(['not-controller', 'overloaded', 'unavailable', 'stopped']);

export class ControllerError extends Error {
  override name = 'ControllerError';
  readonly reason: ControllerErrorReason;
  /** The Kafka error code for this failure (NOT_CONTROLLER 41, INVALID_REQUEST 42, REQUEST_TIMED_OUT 7, ...). */
  readonly errorCode: number;
  /** With not-controller: the active controller the answering node knows (null: none known). */
  readonly activeControllerId: number | null;
  readonly activeControllerEndpoint: string | null;

  constructor(reason: ControllerErrorReason, message: string, activeControllerId: number | null = null, activeControllerEndpoint: string | null = null) {
    super(message);
    this.reason = reason;
    this.errorCode = KAFKA_CODE[reason];
    this.activeControllerId = activeControllerId;
    this.activeControllerEndpoint = activeControllerEndpoint;
  }

  get retriable(): boolean {
    return RETRIABLE.has(this.reason);
  }
}

export function isControllerErrorReason(s: string): s is ControllerErrorReason {
  return s in KAFKA_CODE;
}
