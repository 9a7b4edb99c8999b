// Tributary's own definition of the DescribeConfigs API (key 32) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const describeConfigs = api(32, 'DescribeConfigs', '0-4', '4+', {
  request: [
    f('Resources', '[]DescribeConfigsResource', '0+', {}, [
      f('ResourceType', 'int8', '0+'),
      f('ResourceName', 'string', '0+'),
      f('ConfigurationKeys', '[]string', '0+', { nullable: '0+' }),
    ]),
    f('IncludeSynonyms', 'bool', '1+', { default: false }),
    f('IncludeDocumentation', 'bool', '3+', { default: false }),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '0+'),
    f('Results', '[]DescribeConfigsResult', '0+', {}, [
      f('ErrorCode', 'int16', '0+'),
      f('ErrorMessage', 'string', '0+', { nullable: '0+' }),
      f('ResourceType', 'int8', '0+'),
      f('ResourceName', 'string', '0+'),
      f('Configs', '[]DescribeConfigsResourceResult', '0+', {}, [
        f('Name', 'string', '0+'),
        f('Value', 'string', '0+', { nullable: '0+' }),
        f('ReadOnly', 'bool', '0+'),
        f('IsDefault', 'bool', '0'),
        f('ConfigSource', 'int8', '1+', { default: -1, ignorable: true }),
        f('IsSensitive', 'bool', '0+'),
        f('Synonyms', '[]DescribeConfigsSynonym', '1+', { ignorable: true }, [
          f('Name', 'string', '1+'),
          f('Value', 'string', '1+', { nullable: '0+' }),
          f('Source', 'int8', '1+'),
        ]),
        f('ConfigType', 'int8', '3+', { default: 0, ignorable: true }),
        f('Documentation', 'string', '3+', { nullable: '0+', ignorable: true }),
      ]),
    ]),
  ],
});
