/**
 * IncrementalAlterConfigs and the legacy AlterConfigs (which replaces a resource's whole set). Resources:
 * topics (must exist) and brokers ("" = the cluster-wide default, or a broker id; unregistered ids are fine,
 * as in Kafka). The injected ConfigSchema validates the resource's complete resulting set; a resource either
 * changes entirely or not at all.
 */
import { ErrorCode } from '../errors.ts';
import type { MetadataImage } from '../image.ts';
import { ConfigResourceType, type ConfigResourceTypeCode, type MetadataRecord } from '../records.ts';
import type { ControllerContext, ControllerResult } from './context.ts';
import { RecordBuilder } from './election.ts';

/** Kafka's AlterConfigOp codes. */
export const AlterConfigOp = {
  SET: 0,
  DELETE: 1,
  APPEND: 2,
  SUBTRACT: 3,
} as const;

export interface AlterableConfig {
  readonly name: string;
  /** An AlterConfigOp code. */
  readonly configOperation: number;
  readonly value: string | null;
}

export interface IncrementalAlterConfigsResource {
  /** A ConfigResourceType code (TOPIC 2, BROKER 4); other types are refused. */
  readonly resourceType: number;
  readonly resourceName: string;
  readonly configs: readonly AlterableConfig[];
}

export interface IncrementalAlterConfigsRequest {
  readonly resources: readonly IncrementalAlterConfigsResource[];
  readonly validateOnly: boolean;
}

export interface AlterConfigsResource {
  readonly resourceType: number;
  readonly resourceName: string;
  /** The resource's complete new set: keys left out are deleted; a null value deletes too. */
  readonly configs: readonly { readonly name: string; readonly value: string | null }[];
}

export interface AlterConfigsRequest {
  readonly resources: readonly AlterConfigsResource[];
  readonly validateOnly: boolean;
}

export interface AlterConfigsResourceResponse {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface AlterConfigsResponse {
  readonly responses: readonly AlterConfigsResourceResponse[];
}

type Verdict = { readonly errorCode: number; readonly errorMessage: string } | { readonly next: Map<string, string> };

const BROKER_NAME = /^(0|[1-9]\d{0,9})$/;
const INT32_MAX = 2147483647;

function resourceProblem(image: MetadataImage, resourceType: number, resourceName: string): { errorCode: number; errorMessage: string } | null {
  if (resourceType === ConfigResourceType.TOPIC) {
    if (image.topic(resourceName) === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Topic '${resourceName}' does not exist.` };
    return null;
  }
  if (resourceType === ConfigResourceType.BROKER) {
    if (resourceName !== '' && !(BROKER_NAME.test(resourceName) && Number(resourceName) <= INT32_MAX)) {
      return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Invalid broker name '${resourceName}': use "" for the cluster default or a broker id.` };
    }
    return null;
  }
  return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unsupported resource type ${resourceType}.` };
}

function listParts(value: string | null): string[] {
  if (value === null) return [];
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** Config records turning `current` into `next` (changed keys only, sorted), for one resource. */
function diffRecords(resourceType: ConfigResourceTypeCode, resourceName: string, current: ReadonlyMap<string, string>, next: ReadonlyMap<string, string>): MetadataRecord[] {
  const keys = new Set([...current.keys(), ...next.keys()]);
  const records: MetadataRecord[] = [];
  for (const name of [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const before = current.get(name) ?? null;
    const after = next.get(name) ?? null;
    if (before !== after) records.push({ type: 'config', resourceType, resourceName, name, value: after });
  }
  return records;
}

function alter(
  image: MetadataImage,
  resources: readonly { readonly resourceType: number; readonly resourceName: string; readonly configs: readonly unknown[] }[],
  validateOnly: boolean,
  ctx: ControllerContext,
  compute: (index: number, current: ReadonlyMap<string, string>, resourceType: ConfigResourceTypeCode) => Verdict,
): ControllerResult<AlterConfigsResponse> {
  const counts = new Map<string, number>();
  const keyOf = (r: { resourceType: number; resourceName: string }): string => `${r.resourceType}:${r.resourceName}`;
  for (const r of resources) counts.set(keyOf(r), (counts.get(keyOf(r)) ?? 0) + 1);
  const builder = new RecordBuilder(image);
  const responses: AlterConfigsResourceResponse[] = [];
  resources.forEach((r, index) => {
    const respond = (errorCode: number, errorMessage: string | null): void => {
      responses.push({ resourceType: r.resourceType, resourceName: r.resourceName, errorCode, errorMessage });
    };
    if (counts.get(keyOf(r))! > 1) return respond(ErrorCode.INVALID_REQUEST, 'Duplicate resource in the request.');
    const problem = resourceProblem(image, r.resourceType, r.resourceName);
    if (problem !== null) return respond(problem.errorCode, problem.errorMessage);
    if (r.configs.length > ctx.limits.maxConfigsPerResource) {
      return respond(ErrorCode.INVALID_REQUEST, `${r.configs.length} configs exceed the limit of ${ctx.limits.maxConfigsPerResource} per resource.`);
    }
    const resourceType = r.resourceType as ConfigResourceTypeCode;
    const current = image.configs(resourceType, r.resourceName);
    const verdict = compute(index, current, resourceType);
    if ('errorCode' in verdict) return respond(verdict.errorCode, verdict.errorMessage);
    const invalid = ctx.configSchema.validate(resourceType, r.resourceName, verdict.next);
    if (invalid !== null) return respond(ErrorCode.INVALID_CONFIG, invalid);
    builder.add(...diffRecords(resourceType, r.resourceName, current, verdict.next));
    return respond(ErrorCode.NONE, null);
  });
  return { records: validateOnly ? [] : builder.records, response: { responses } };
}

export function incrementalAlterConfigs(image: MetadataImage, request: IncrementalAlterConfigsRequest, ctx: ControllerContext): ControllerResult<AlterConfigsResponse> {
  return alter(image, request.resources, request.validateOnly, ctx, (index, current, resourceType) => {
    const next = new Map(current);
    const seen = new Set<string>();
    for (const c of request.resources[index]!.configs) {
      if (seen.has(c.name)) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Error due to duplicate config keys: ${c.name}.` };
      seen.add(c.name);
      if (c.name.length === 0) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Empty config key.' };
      switch (c.configOperation) {
        case AlterConfigOp.SET:
          if (c.value === null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Null value not supported for: ${c.name}.` };
          next.set(c.name, c.value);
          break;
        case AlterConfigOp.DELETE:
          next.delete(c.name);
          break;
        case AlterConfigOp.APPEND:
        case AlterConfigOp.SUBTRACT: {
          const opName = c.configOperation === AlterConfigOp.APPEND ? 'APPEND' : 'SUBTRACT';
          if (c.value === null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Null value not supported for: ${c.name}.` };
          if (!ctx.configSchema.isList(resourceType, c.name)) {
            return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Can't ${opName} to key ${c.name} because its type is not LIST.` };
          }
          const parts = listParts(next.get(c.name) ?? ctx.configSchema.defaultValue(resourceType, c.name));
          const given = listParts(c.value);
          const result =
            c.configOperation === AlterConfigOp.APPEND ? [...parts, ...given.filter((v, i) => !parts.includes(v) && given.indexOf(v) === i)] : parts.filter((v) => !given.includes(v));
          next.set(c.name, result.join(','));
          break;
        }
        default:
          return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unknown config operation ${c.configOperation} for ${c.name}.` };
      }
    }
    return { next };
  });
}

export function alterConfigs(image: MetadataImage, request: AlterConfigsRequest, ctx: ControllerContext): ControllerResult<AlterConfigsResponse> {
  return alter(image, request.resources, request.validateOnly, ctx, (index) => {
    const next = new Map<string, string>();
    const seen = new Set<string>();
    for (const c of request.resources[index]!.configs) {
      if (seen.has(c.name)) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Error due to duplicate config keys: ${c.name}.` };
      seen.add(c.name);
      if (c.name.length === 0) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Empty config key.' };
      if (c.value !== null) next.set(c.name, c.value);
    }
    return { next };
  });
}
