/** AllocateProducerIds: blocks of 1000 ids, handed out in order; the image keeps the next block's start. */
import { ErrorCode } from '../errors.ts';
import type { MetadataImage } from '../image.ts';
import type { ControllerResult } from './context.ts';

export const PRODUCER_ID_BLOCK_SIZE = 1000;

export interface AllocateProducerIdsRequest {
  readonly brokerId: number;
  readonly brokerEpoch: number;
}

export interface AllocateProducerIdsResponse {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  /** -1 on error. */
  readonly producerIdStart: number;
  readonly producerIdLen: number;
}

export function allocateProducerIds(image: MetadataImage, request: AllocateProducerIdsRequest): ControllerResult<AllocateProducerIdsResponse> {
  const broker = image.broker(request.brokerId);
  if (broker === undefined || broker.brokerEpoch !== request.brokerEpoch) {
    const errorMessage = broker === undefined ? `Broker ${request.brokerId} is not registered.` : `Broker ${request.brokerId} is at epoch ${broker.brokerEpoch}, not ${request.brokerEpoch}.`;
    return { records: [], response: { errorCode: ErrorCode.STALE_BROKER_EPOCH, errorMessage, producerIdStart: -1, producerIdLen: 0 } };
  }
  const start = image.nextProducerId;
  const next = start + PRODUCER_ID_BLOCK_SIZE;
  if (!Number.isSafeInteger(next)) {
    return { records: [], response: { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: 'Exhausted all producer ids.', producerIdStart: -1, producerIdLen: 0 } };
  }
  return {
    records: [{ type: 'producer-ids', brokerId: broker.brokerId, brokerEpoch: broker.brokerEpoch, nextProducerId: next }],
    response: { errorCode: ErrorCode.NONE, errorMessage: null, producerIdStart: start, producerIdLen: PRODUCER_ID_BLOCK_SIZE },
  };
}
