// Dynamic broker configs for the replication throttle rates: what the controller accepts (the schema the server
// gives it), which value a broker uses (per broker > cluster default > server.properties > default), how
// DescribeConfigs shows it, and how the throttles follow the metadata without a restart.
import { silentLogger } from '@tributary/common';
import { AlterConfigOp, applyAll, ConfigResourceType, controllerContext, ErrorCode, incrementalAlterConfigs, MetadataImage, type AlterableConfig, type MetadataRecord } from '@tributary/metadata';
import { describe, expect, it } from 'vitest';
import type { Broker, RequestContext } from '../src/broker.ts';
import { BrokerConfig, brokerConfigDefsByName } from '../src/config/broker-config.ts';
import { brokerConfigSchema, effectiveBrokerConfig } from '../src/config/dynamic-broker-config.ts';
import { ConfigSource } from '../src/handlers/config-views.ts';
import { handleIncrementalAlterConfigs } from '../src/handlers/alter-configs.ts';
import { handleDescribeConfigs } from '../src/handlers/describe-configs.ts';
import { ByteRateThrottle } from '../src/replication/throttle.ts';
import { ReplicationThrottleConfig } from '../src/replication/throttle-config.ts';

const B = ConfigResourceType.BROKER;
const LEADER = 'leader.replication.throttled.rate';
const FOLLOWER = 'follower.replication.throttled.rate';
const UNTHROTTLED = Number.MAX_SAFE_INTEGER;
const ctx = controllerContext({ rng: { next: () => 0, int: () => 0 }, configSchema: brokerConfigSchema() });

function alter(image: MetadataImage, resourceName: string, configs: AlterableConfig[]) {
  return incrementalAlterConfigs(image, { resources: [{ resourceType: B, resourceName, configs }], validateOnly: false }, ctx);
}
const set = (name: string, value: string): AlterableConfig => ({ name, configOperation: AlterConfigOp.SET, value });
const del = (name: string): AlterableConfig => ({ name, configOperation: AlterConfigOp.DELETE, value: null });
const config = (name: string, resourceName: string, value: string | null): MetadataRecord => ({ type: 'config', resourceType: B, resourceName, name, value });

describe('the controller schema for broker configs', () => {
  it('accepts both rates for a broker id and for the cluster default, as config records', () => {
    for (const name of ['2', '']) {
      const r = alter(MetadataImage.EMPTY, name, [set(LEADER, '1048576'), set(FOLLOWER, '2097152')]);
      expect(r.response.responses[0]).toMatchObject({ errorCode: ErrorCode.NONE, errorMessage: null });
      expect(r.records).toEqual([config(FOLLOWER, name, '2097152'), config(LEADER, name, '1048576')]);
    }
  });

  it('refuses rates below 1 byte/s and non-numbers with INVALID_CONFIG, writing nothing', () => {
    for (const value of ['0', '-1048576', 'fast', '1.5', '']) {
      const r = alter(MetadataImage.EMPTY, '2', [set(LEADER, value)]);
      expect(r.records).toEqual([]);
      expect(r.response.responses[0]!.errorCode).toBe(ErrorCode.INVALID_CONFIG);
      expect(r.response.responses[0]!.errorMessage).toContain(`Invalid value ${value} for configuration ${LEADER}`);
    }
    expect(alter(MetadataImage.EMPTY, '', [set(FOLLOWER, '0')]).response.responses[0]!.errorMessage).toMatch(/must be at least 1/);
  });

  it('refuses a static broker config, naming the dynamic ones, and an unknown key', () => {
    const r = alter(MetadataImage.EMPTY, '2', [set('log.retention.hours', '1')]);
    expect(r.response.responses[0]!.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect(r.response.responses[0]!.errorMessage).toBe(
      `Broker config log.retention.hours cannot be changed while brokers run: set it in server.properties and restart (dynamic broker configs: ${LEADER}, ${FOLLOWER})`,
    );
    expect(alter(MetadataImage.EMPTY, '', [set('leader.replication.throttled.rates', '1')]).response.responses[0]).toMatchObject({
      errorCode: ErrorCode.INVALID_CONFIG,
      errorMessage: 'Unknown broker config name: leader.replication.throttled.rates',
    });
  });

  it('DELETE removes the dynamic value', () => {
    const image = applyAll(MetadataImage.EMPTY, alter(MetadataImage.EMPTY, '2', [set(LEADER, '1000')]).records);
    expect(alter(image, '2', [del(LEADER)]).records).toEqual([config(LEADER, '2', null)]);
  });
});

describe('effectiveBrokerConfig', () => {
  const def = brokerConfigDefsByName.get(LEADER)!;

  it('takes the per-broker value, else the cluster default, else server.properties, else the default', () => {
    const statically = new BrokerConfig({ 'node.id': '2', [LEADER]: '5000' });
    const plain = new BrokerConfig({ 'node.id': '2' });
    let image = MetadataImage.EMPTY;
    expect(effectiveBrokerConfig(image, 2, plain, def)).toEqual({ value: UNTHROTTLED, source: 'default', levels: [{ source: 'default', raw: String(UNTHROTTLED) }] });
    expect(effectiveBrokerConfig(image, 2, statically, def)).toMatchObject({ value: 5000, source: 'static-broker' });
    image = applyAll(image, [config(LEADER, '', '3000')]);
    expect(effectiveBrokerConfig(image, 2, statically, def)).toMatchObject({ value: 3000, source: 'dynamic-default' });
    // Another broker's value is not this broker's.
    image = applyAll(image, [config(LEADER, '3', '7')]);
    expect(effectiveBrokerConfig(image, 2, statically, def)).toMatchObject({ value: 3000, source: 'dynamic-default' });
    image = applyAll(image, [config(LEADER, '2', '1000')]);
    expect(effectiveBrokerConfig(image, 2, statically, def)).toEqual({
      value: 1000,
      source: 'dynamic-broker',
      levels: [
        { source: 'dynamic-broker', raw: '1000' },
        { source: 'dynamic-default', raw: '3000' },
        { source: 'static-broker', raw: '5000' },
        { source: 'default', raw: String(UNTHROTTLED) },
      ],
    });
    // Deleting the dynamic values reverts to the static value.
    image = applyAll(image, [config(LEADER, '2', null), config(LEADER, '', null)]);
    expect(effectiveBrokerConfig(image, 2, statically, def)).toMatchObject({ value: 5000, source: 'static-broker' });
  });

  it('skips a dynamic value this broker cannot parse rather than using it', () => {
    const image = applyAll(MetadataImage.EMPTY, [config(LEADER, '2', 'nonsense'), config(LEADER, '', '3000')]);
    expect(effectiveBrokerConfig(image, 2, new BrokerConfig({ 'node.id': '2' }), def)).toMatchObject({ value: 3000, source: 'dynamic-default' });
  });

  it('ignores dynamic values of keys that are not dynamic', () => {
    const image = applyAll(MetadataImage.EMPTY, [config('log.retention.hours', '2', '1')]);
    expect(effectiveBrokerConfig(image, 2, new BrokerConfig({ 'node.id': '2' }), brokerConfigDefsByName.get('log.retention.hours')!)).toMatchObject({ value: 168, source: 'default' });
  });
});

describe('ReplicationThrottleConfig', () => {
  it('sets both buckets from each image, and back to server.properties when the dynamic values go', () => {
    let nowMs = 0;
    const leader = new ByteRateThrottle(UNTHROTTLED, 0);
    const follower = new ByteRateThrottle(UNTHROTTLED, 0);
    const watcher = new ReplicationThrottleConfig({
      nodeId: 2,
      config: new BrokerConfig({ 'node.id': '2', [FOLLOWER]: '9000' }),
      leader,
      follower,
      clock: { nowMs: () => nowMs, monotonicMs: () => nowMs },
      logger: silentLogger,
    });
    let image = MetadataImage.EMPTY;
    watcher.apply(image);
    expect([leader.bytesPerSecond, follower.bytesPerSecond]).toEqual([UNTHROTTLED, 9000]);
    image = applyAll(image, [config(LEADER, '2', '1048576'), config(FOLLOWER, '2', '1048576')]);
    nowMs = 100;
    watcher.apply(image);
    expect([leader.bytesPerSecond, follower.bytesPerSecond]).toEqual([1048576, 1048576]);
    // Throttled from now: one second of burst, then the rate (500 bytes over it wait ~0.5 ms, rounded up, + 1).
    leader.record(1048576 + 500, nowMs);
    expect(leader.delayMs(nowMs)).toBe(2);
    image = applyAll(image, [config(LEADER, '', '2000'), config(LEADER, '2', null), config(FOLLOWER, '2', null)]);
    watcher.apply(image);
    expect([leader.bytesPerSecond, follower.bytesPerSecond]).toEqual([2000, 9000]);
    image = applyAll(image, [config(LEADER, '', null)]);
    watcher.apply(image);
    expect([leader.bytesPerSecond, follower.bytesPerSecond]).toEqual([UNTHROTTLED, 9000]);
  });
});

describe('DescribeConfigs for brokers', () => {
  function broker(image: MetadataImage): Broker {
    return { nodeId: 2, config: new BrokerConfig({ 'node.id': '2', [FOLLOWER]: '9000' }), metadata: { image } } as unknown as Broker;
  }
  const request = (resourceName: string, keys: string[] | null) => ({ resources: [{ resourceType: B, resourceName, configurationKeys: keys }], includeSynonyms: true, includeDocumentation: false });
  const rc = (apiVersion: number): RequestContext => ({ header: { apiKey: 32, apiVersion, correlationId: 1, clientId: 'test' }, clientHost: '127.0.0.1', signal: new AbortController().signal });

  it('shows each rate with its source and synonyms; dynamic keys are not read-only', async () => {
    const image = applyAll(MetadataImage.EMPTY, [config(LEADER, '2', '1048576'), config(LEADER, '', '2000'), config(FOLLOWER, '', '3000')]);
    const res: any = await handleDescribeConfigs(broker(image), rc(4), request('2', [LEADER, FOLLOWER, 'log.retention.hours']));
    const byName = new Map(res.results[0].configs.map((c: any) => [c.name, c]));
    expect(byName.get(LEADER)).toMatchObject({
      value: '1048576',
      readOnly: false,
      isDefault: false,
      configSource: ConfigSource.DYNAMIC_BROKER_CONFIG,
      synonyms: [
        { name: LEADER, value: '1048576', source: ConfigSource.DYNAMIC_BROKER_CONFIG },
        { name: LEADER, value: '2000', source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG },
        { name: LEADER, value: String(UNTHROTTLED), source: ConfigSource.DEFAULT_CONFIG },
      ],
    });
    expect(byName.get(FOLLOWER)).toMatchObject({ value: '3000', configSource: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
    expect(byName.get('log.retention.hours')).toMatchObject({ value: '168', readOnly: true, isDefault: true, configSource: ConfigSource.DEFAULT_CONFIG });
  });

  it('after the dynamic values are deleted: the static value, then the default', async () => {
    const res: any = await handleDescribeConfigs(broker(MetadataImage.EMPTY), rc(4), request('2', [LEADER, FOLLOWER]));
    const byName = new Map(res.results[0].configs.map((c: any) => [c.name, c]));
    expect(byName.get(FOLLOWER)).toMatchObject({ value: '9000', configSource: ConfigSource.STATIC_BROKER_CONFIG, isDefault: false });
    expect(byName.get(LEADER)).toMatchObject({ value: String(UNTHROTTLED), configSource: ConfigSource.DEFAULT_CONFIG, isDefault: true });
  });

  it('the cluster default resource lists only what was set for every broker; another broker id is refused', async () => {
    const image = applyAll(MetadataImage.EMPTY, [config(LEADER, '2', '1048576'), config(FOLLOWER, '', '3000')]);
    const res: any = await handleDescribeConfigs(broker(image), rc(4), request('', null));
    expect(res.results[0].configs).toEqual([
      expect.objectContaining({ name: FOLLOWER, value: '3000', readOnly: false, configSource: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG }),
    ]);
    const other: any = await handleDescribeConfigs(broker(image), rc(4), request('3', null));
    expect(other.results[0]).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, configs: [] });
  });
});

describe('IncrementalAlterConfigs for brokers', () => {
  it('forwards broker id and cluster default resources to the controller and answers once the local image shows them; broker loggers are refused', async () => {
    let image = MetadataImage.EMPTY;
    const forwarded: unknown[] = [];
    const waits: boolean[] = [];
    const stub = {
      controller: {
        incrementalAlterConfigs: async (request: { resources: { resourceName: string; configs: AlterableConfig[] }[] }) => {
          forwarded.push(request);
          const result = incrementalAlterConfigs(image, request as never, ctx);
          image = applyAll(image, result.records);
          return result.response;
        },
      },
      metadata: {
        waitFor: async (check: (i: MetadataImage) => boolean) => {
          waits.push(check(image));
          return true;
        },
      },
    } as unknown as Broker;
    const rcAlter: RequestContext = { header: { apiKey: 44, apiVersion: 1, correlationId: 1, clientId: 'test' }, clientHost: '127.0.0.1', signal: new AbortController().signal };
    const res: any = await handleIncrementalAlterConfigs(stub, rcAlter, {
      validateOnly: false,
      resources: [
        { resourceType: B, resourceName: '2', configs: [set(LEADER, '1048576')] },
        { resourceType: B, resourceName: '', configs: [set(FOLLOWER, '0')] },
        { resourceType: 8, resourceName: '2', configs: [set('root', 'DEBUG')] },
      ],
    });
    expect(res.responses.map((r: any) => [r.resourceName, r.errorCode])).toEqual([
      ['2', ErrorCode.NONE],
      ['', ErrorCode.INVALID_CONFIG],
      ['2', ErrorCode.INVALID_REQUEST],
    ]);
    expect(forwarded).toHaveLength(1);
    expect(image.configs(B, '2').get(LEADER)).toBe('1048576');
    expect(waits).toEqual([true]);
  });
});
