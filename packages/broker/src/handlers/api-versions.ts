import { ErrorCode } from '@tributary/protocol';
import { advertisedApis } from '../api-versions.ts';
import type { Broker, RequestContext } from '../broker.ts';

/** ApiVersions: the profile, plus the finalized features a KRaft broker reports (none yet). */
export async function handleApiVersions(_broker: Broker, _ctx: RequestContext, _body: any): Promise<object> {
  return {
    errorCode: ErrorCode.NONE,
    apiKeys: advertisedApis.map((r) => ({ apiKey: r.apiKey, minVersion: r.minVersion, maxVersion: r.maxVersion })),
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
    zkMigrationReady: false,
  };
}

/** The v0 body sent for an ApiVersions version we do not support, so the client can retry with one we do. */
export function unsupportedApiVersionsBody(): object {
  return {
    errorCode: ErrorCode.UNSUPPORTED_VERSION,
    apiKeys: advertisedApis.map((r) => ({ apiKey: r.apiKey, minVersion: r.minVersion, maxVersion: r.maxVersion })),
    throttleTimeMs: 0,
  };
}
