// Tributary's own definition of the ApiVersions API (key 18) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const apiVersions = api(18, 'ApiVersions', '0-4', '3+', {
  request: [
    f('ClientSoftwareName', 'string', '3+', { ignorable: true }),
    f('ClientSoftwareVersion', 'string', '3+', { ignorable: true }),
  ],
  response: [
    f('ErrorCode', 'int16', '0+'),
    f('ApiKeys', '[]ApiVersion', '0+', {}, [
      f('ApiKey', 'int16', '0+'),
      f('MinVersion', 'int16', '0+'),
      f('MaxVersion', 'int16', '0+'),
    ]),
    f('ThrottleTimeMs', 'int32', '1+', { ignorable: true }),
    f('SupportedFeatures', '[]SupportedFeatureKey', '3+', { tag: 0, ignorable: true }, [
      f('Name', 'string', '3+'),
      f('MinVersion', 'int16', '3+'),
      f('MaxVersion', 'int16', '3+'),
    ]),
    f('FinalizedFeaturesEpoch', 'int64', '3+', { default: -1, tag: 1, ignorable: true }),
    f('FinalizedFeatures', '[]FinalizedFeatureKey', '3+', { tag: 2, ignorable: true }, [
      f('Name', 'string', '3+'),
      f('MaxVersionLevel', 'int16', '3+'),
      f('MinVersionLevel', 'int16', '3+'),
    ]),
    f('ZkMigrationReady', 'bool', '3+', { default: false, tag: 3, ignorable: true }),
  ],
});
