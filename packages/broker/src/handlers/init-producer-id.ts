import { ErrorCode } from '@tributary/protocol';
import type { Broker, RequestContext } from '../broker.ts';
import { messageOf } from './common.ts';

const MAX_PRODUCER_EPOCH = 32767;

/** Idempotent producers get an id (or, from v3, a bumped epoch); transactions are not supported yet. */
export async function handleInitProducerId(broker: Broker, _ctx: RequestContext, body: any): Promise<object> {
  if (body.transactionalId !== null && body.transactionalId !== undefined) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 };
  }
  if (body.producerId >= 0 && body.producerEpoch >= 0 && body.producerEpoch < MAX_PRODUCER_EPOCH - 1) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: body.producerId, producerEpoch: body.producerEpoch + 1 };
  }
  try {
    const producerId = await broker.producerIds.nextProducerId();
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
  } catch (err) {
    broker.logger.error({ err: messageOf(err) }, 'producer id allocation failed');
    return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1, producerEpoch: -1 };
  }
}
