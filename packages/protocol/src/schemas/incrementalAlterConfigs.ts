// Tributary's own definition of the IncrementalAlterConfigs API (key 44) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const incrementalAlterConfigs = api(44, 'IncrementalAlterConfigs', '0-1', '1+', {
  request: [
    f('Resources', '[]AlterConfigsResource', '0+', {}, [
      f('ResourceType', 'int8', '0+'),
      f('ResourceName', 'string', '0+'),
      f('Configs', '[]AlterableConfig', '0+', {}, [
        f('Name', 'string', '0+'),
        f('ConfigOperation', 'int8', '0+'),
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
