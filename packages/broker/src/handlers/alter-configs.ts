import { ErrorCode } from '@tributary/protocol';
import type { AlterConfigsResourceResponse } from '@tributary/metadata';
import type { Broker, RequestContext } from '../broker.ts';
import { controllerErrorCode, LOCAL_METADATA_WAIT_MS, messageOf } from './common.ts';
import { ResourceType } from './describe-configs.ts';

/**
 * AlterConfigs replaces a resource's whole set of overrides (a topic, a broker id, or "" for every broker); the
 * active controller validates and commits it.
 */
export async function handleAlterConfigs(broker: Broker, _ctx: RequestContext, body: any): Promise<object> {
  return alter(broker, body, (resources, validateOnly, timeoutMs) =>
    broker.controller.alterConfigs({ resources: resources.map((r) => ({ resourceType: r.resourceType, resourceName: r.resourceName, configs: (r.configs as any[]).map((c) => ({ name: c.name, value: c.value })) })), validateOnly }, { timeoutMs }),
  );
}

/** IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT per key, applied by the active controller. */
export async function handleIncrementalAlterConfigs(broker: Broker, _ctx: RequestContext, body: any): Promise<object> {
  return alter(broker, body, (resources, validateOnly, timeoutMs) =>
    broker.controller.incrementalAlterConfigs(
      { resources: resources.map((r) => ({ resourceType: r.resourceType, resourceName: r.resourceName, configs: (r.configs as any[]).map((c) => ({ name: c.name, configOperation: c.configOperation, value: c.value })) })), validateOnly },
      { timeoutMs },
    ),
  );
}

type Forward = (resources: any[], validateOnly: boolean, timeoutMs: number) => Promise<{ responses: readonly AlterConfigsResourceResponse[] }>;

async function alter(broker: Broker, body: any, forward: Forward): Promise<object> {
  const validateOnly = body.validateOnly === true;
  const results = new Map<number, { errorCode: number; errorMessage: string | null; resourceType: number; resourceName: string }>();
  const forwarded: { i: number; resource: any }[] = [];
  (body.resources as any[]).forEach((r, i) => {
    const out = { errorCode: ErrorCode.NONE as number, errorMessage: null as string | null, resourceType: r.resourceType, resourceName: r.resourceName };
    results.set(i, out);
    if (r.resourceType === ResourceType.BROKER_LOGGER) {
      out.errorCode = ErrorCode.INVALID_REQUEST;
      out.errorMessage = 'broker logger configs are not supported';
    } else if (r.resourceType !== ResourceType.TOPIC && r.resourceType !== ResourceType.BROKER) {
      out.errorCode = ErrorCode.INVALID_REQUEST;
      out.errorMessage = `unsupported resource type ${r.resourceType}`;
    } else {
      forwarded.push({ i, resource: r });
    }
  });
  if (forwarded.length > 0) {
    try {
      const r = await forward(forwarded.map((f) => f.resource), validateOnly, 30_000);
      r.responses.forEach((res, k) => {
        const out = results.get(forwarded[k]!.i)!;
        out.errorCode = res.errorCode;
        out.errorMessage = res.errorMessage;
      });
      if (!validateOnly) {
        // Answer once this broker serves the new configs too, so a DescribeConfigs right after sees them.
        const applied = forwarded.filter((_, k) => r.responses[k]?.errorCode === ErrorCode.NONE).map((f) => f.resource);
        if (applied.length > 0) await broker.metadata.waitFor((image) => applied.every((res) => reflects(image.configs(res.resourceType, res.resourceName), res)), LOCAL_METADATA_WAIT_MS);
      }
    } catch (err) {
      const code = controllerErrorCode(err);
      for (const f of forwarded) {
        const out = results.get(f.i)!;
        out.errorCode = code;
        out.errorMessage = `the controller did not change the configs of ${f.resource.resourceName}: ${messageOf(err)}`;
      }
    }
  }
  return { throttleTimeMs: 0, responses: (body.resources as any[]).map((_, i) => results.get(i)!) };
}

const SET = 0;
const DELETE = 1;

/** Whether a resource's committed overrides show its change (APPEND/SUBTRACT are not checked). */
function reflects(configs: ReadonlyMap<string, string>, resource: any): boolean {
  for (const c of resource.configs as any[]) {
    const op = c.configOperation ?? (c.value === null ? DELETE : SET);
    if (op === SET && configs.get(c.name) !== c.value) return false;
    if (op === DELETE && configs.has(c.name)) return false;
  }
  return true;
}
