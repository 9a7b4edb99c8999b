// Tributary's own definition of the AlterConfigs API (key 33) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const alterConfigs = api(33, 'AlterConfigs', '0-2', '2+', {
  request: [
    f('Resources', '[]AlterConfigsResource', '0+', {}, [
      f('ResourceType', 'int8', '0+'),
      f('ResourceName', 'string', '0+'),
      f('Configs', '[]AlterableConfig', '0+', {}, [
        f('Name', 'string', '0+'),
        f('Value', 'string', '0+', { nullable: '0+' }),
      ]),
    ]),
    f('ValidateOnly', 'bool', '0+'),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '0+'),
    f('Responses', '[]AlterConfigsResourceResponse', '0+', {}, [
      f('ErrorCode', 'int16', '0+'),
      f('ErrorMessage', 'string', '0+', { nullable: '0+' }),
      f('ResourceType', 'int8', '0+'),
      f('ResourceName', 'string', '0+'),
    ]),
  ],
});
