// Tributary's own definition of the InitProducerId API (key 22) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const initProducerId = api(22, 'InitProducerId', '0-5', '2+', {
  request: [
    f('TransactionalId', 'string', '0+', { nullable: '0+' }),
    f('TransactionTimeoutMs', 'int32', '0+'),
    f('ProducerId', 'int64', '3+', { default: -1 }),
    f('ProducerEpoch', 'int16', '3+', { default: -1 }),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '0+', { ignorable: true }),
    f('ErrorCode', 'int16', '0+'),
    f('ProducerId', 'int64', '0+', { default: -1 }),
    f('ProducerEpoch', 'int16', '0+'),
  ],
});
