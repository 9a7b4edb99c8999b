// Tributary's own definition of the DeleteTopics API (key 20) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const deleteTopics = api(20, 'DeleteTopics', '0-6', '4+', {
  request: [
    f('Topics', '[]DeleteTopicState', '6+', {}, [
      f('Name', 'string', '6+', { nullable: '6+', default: null }),
      f('TopicId', 'uuid', '6+'),
    ]),
    f('TopicNames', '[]string', '0-5', { ignorable: true }),
    f('TimeoutMs', 'int32', '0+'),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '1+', { ignorable: true }),
    f('Responses', '[]DeletableTopicResult', '0+', {}, [
      f('Name', 'string', '0+', { nullable: '6+' }),
      f('TopicId', 'uuid', '6+', { ignorable: true }),
      f('ErrorCode', 'int16', '0+'),
      f('ErrorMessage', 'string', '5+', { nullable: '5+', default: null, ignorable: true }),
    ]),
  ],
});
