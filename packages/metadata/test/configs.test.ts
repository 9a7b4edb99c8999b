import { describe, expect, it } from 'vitest';
import { AlterConfigOp, alterConfigs, ConfigResourceType, ErrorCode, incrementalAlterConfigs, uncleanElectionEnabled, type AlterableConfig } from '../src/index.ts';
import { TestCluster, testContext } from './harness.ts';

const T = ConfigResourceType.TOPIC;
const B = ConfigResourceType.BROKER;

function cluster(): TestCluster {
  const c = new TestCluster();
  c.addBrokers([1]);
  c.createTopic('t', 1, 1, { configs: [{ name: 'retention.ms', value: '100' }, { name: 'cleanup.policy', value: 'delete' }] });
  return c;
}

const incr = (c: TestCluster, resourceType: number, resourceName: string, configs: AlterableConfig[], validateOnly = false) =>
  incrementalAlterConfigs(c.image, { resources: [{ resourceType, resourceName, configs }], validateOnly }, c.ctx);

describe('incrementalAlterConfigs', () => {
  it('SET and DELETE write only changed keys', () => {
    const c = cluster();
    const r = incr(c, T, 't', [
      { name: 'retention.ms', configOperation: AlterConfigOp.SET, value: '100' }, // unchanged
      { name: 'min.insync.replicas', configOperation: AlterConfigOp.SET, value: '2' },
      { name: 'cleanup.policy', configOperation: AlterConfigOp.DELETE, value: null },
      { name: 'segment.bytes', configOperation: AlterConfigOp.DELETE, value: null }, // not set: nothing to do
    ]);
    expect(r.response.responses).toEqual([{ resourceType: T, resourceName: 't', errorCode: ErrorCode.NONE, errorMessage: null }]);
    expect(r.records).toEqual([
      { type: 'config', resourceType: T, resourceName: 't', name: 'cleanup.policy', value: null },
      { type: 'config', resourceType: T, resourceName: 't', name: 'min.insync.replicas', value: '2' },
    ]);
    c.commit(r);
    expect([...c.image.configs(T, 't')].sort()).toEqual([['min.insync.replicas', '2'], ['retention.ms', '100']]);
  });

  it('APPEND and SUBTRACT work on lists, starting from the default when unset', () => {
    const c = cluster();
    c.commit(incr(c, T, 't', [{ name: 'cleanup.policy', configOperation: AlterConfigOp.APPEND, value: 'compact,delete' }]));
    expect(c.image.configs(T, 't').get('cleanup.policy')).toBe('delete,compact');
    c.commit(incr(c, T, 't', [{ name: 'cleanup.policy', configOperation: AlterConfigOp.SUBTRACT, value: 'delete' }]));
    expect(c.image.configs(T, 't').get('cleanup.policy')).toBe('compact');
    c.commit(incr(c, B, '', [{ name: 'log.cleanup.policy', configOperation: AlterConfigOp.APPEND, value: 'compact' }]));
    expect(c.image.configs(B, '').get('log.cleanup.policy')).toBe('delete,compact'); // default 'delete' + compact
    expect(incr(c, T, 't', [{ name: 'retention.ms', configOperation: AlterConfigOp.APPEND, value: '1' }]).response.responses[0]).toMatchObject({
      errorCode: ErrorCode.INVALID_CONFIG,
      errorMessage: "Can't APPEND to key retention.ms because its type is not LIST.",
    });
  });

  it('broker resources: the cluster default and broker ids; other names and types are refused', () => {
    const c = cluster();
    const set = (name: string) => incr(c, B, name, [{ name: 'log.retention.ms', configOperation: AlterConfigOp.SET, value: '5' }]).response.responses[0]!.errorCode;
    expect(set('')).toBe(ErrorCode.NONE);
    expect(set('7')).toBe(ErrorCode.NONE); // unregistered ids are allowed, as in Kafka
    expect(set('b7')).toBe(ErrorCode.INVALID_REQUEST);
    expect(set('-1')).toBe(ErrorCode.INVALID_REQUEST);
    expect(set('99999999999')).toBe(ErrorCode.INVALID_REQUEST);
    expect(incr(c, 3, 'g', []).response.responses[0]!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(incr(c, T, 'missing', []).response.responses[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('invalid results are INVALID_CONFIG and change nothing in that resource; other resources go ahead', () => {
    const c = cluster();
    const r = incrementalAlterConfigs(
      c.image,
      {
        resources: [
          { resourceType: T, resourceName: 't', configs: [{ name: 'retention.ms', configOperation: AlterConfigOp.SET, value: '7' }, { name: 'bogus', configOperation: AlterConfigOp.SET, value: '1' }] },
          { resourceType: B, resourceName: '', configs: [{ name: 'unclean.leader.election.enable', configOperation: AlterConfigOp.SET, value: 'true' }] },
        ],
        validateOnly: false,
      },
      c.ctx,
    );
    expect(r.response.responses.map((x) => [x.errorCode, x.errorMessage])).toEqual([
      [ErrorCode.INVALID_CONFIG, 'Unknown topic config name: bogus'],
      [ErrorCode.NONE, null],
    ]);
    expect(r.records).toHaveLength(1);
    c.commit(r);
    expect(uncleanElectionEnabled(c.image, 't', c.ctx)).toBe(true);
  });

  it('request errors: duplicate keys, duplicate resources, null values, unknown operations, too many configs', () => {
    const c = cluster();
    const code = (configs: AlterableConfig[]) => incr(c, T, 't', configs).response.responses[0]!.errorCode;
    expect(code([{ name: 'retention.ms', configOperation: 0, value: '1' }, { name: 'retention.ms', configOperation: 1, value: null }])).toBe(ErrorCode.INVALID_REQUEST);
    expect(code([{ name: 'retention.ms', configOperation: AlterConfigOp.SET, value: null }])).toBe(ErrorCode.INVALID_REQUEST);
    expect(code([{ name: 'cleanup.policy', configOperation: AlterConfigOp.APPEND, value: null }])).toBe(ErrorCode.INVALID_REQUEST);
    expect(code([{ name: 'retention.ms', configOperation: 9, value: '1' }])).toBe(ErrorCode.INVALID_REQUEST);
    expect(code([{ name: '', configOperation: 0, value: '1' }])).toBe(ErrorCode.INVALID_REQUEST);
    const dup = incrementalAlterConfigs(c.image, { resources: [{ resourceType: T, resourceName: 't', configs: [] }, { resourceType: T, resourceName: 't', configs: [] }], validateOnly: false }, c.ctx);
    expect(dup.response.responses.map((x) => x.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
    const small = testContext(1, { limits: { maxConfigsPerResource: 1, maxPartitionsPerRequest: 10, maxReplicationFactor: 3 } });
    const many = incrementalAlterConfigs(
      c.image,
      { resources: [{ resourceType: T, resourceName: 't', configs: [{ name: 'a', configOperation: 1, value: null }, { name: 'b', configOperation: 1, value: null }] }], validateOnly: false },
      small,
    );
    expect(many.response.responses[0]!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('validateOnly writes nothing', () => {
    const c = cluster();
    const r = incr(c, T, 't', [{ name: 'retention.ms', configOperation: AlterConfigOp.SET, value: '9' }], true);
    expect(r.records).toEqual([]);
    expect(r.response.responses[0]!.errorCode).toBe(ErrorCode.NONE);
  });
});

describe('alterConfigs (legacy)', () => {
  it('replaces the whole set: keys left out are deleted', () => {
    const c = cluster();
    const r = alterConfigs(c.image, { resources: [{ resourceType: T, resourceName: 't', configs: [{ name: 'retention.ms', value: '100' }, { name: 'segment.bytes', value: '1000' }] }], validateOnly: false }, c.ctx);
    expect(r.records).toEqual([
      { type: 'config', resourceType: T, resourceName: 't', name: 'cleanup.policy', value: null },
      { type: 'config', resourceType: T, resourceName: 't', name: 'segment.bytes', value: '1000' },
    ]);
    c.commit(r);
    expect([...c.image.configs(T, 't')].sort()).toEqual([['retention.ms', '100'], ['segment.bytes', '1000']]);
  });

  it('validates the new set and refuses duplicates', () => {
    const c = cluster();
    const bad = alterConfigs(c.image, { resources: [{ resourceType: T, resourceName: 't', configs: [{ name: 'segment.bytes', value: '1' }] }], validateOnly: false }, c.ctx);
    expect(bad.response.responses[0]).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG, errorMessage: 'Invalid value 1 for configuration segment.bytes: must be at least 14' });
    expect(bad.records).toEqual([]);
    const dup = alterConfigs(c.image, { resources: [{ resourceType: T, resourceName: 't', configs: [{ name: 'a', value: '1' }, { name: 'a', value: null }] }], validateOnly: false }, c.ctx);
    expect(dup.response.responses[0]!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    const clear = alterConfigs(c.image, { resources: [{ resourceType: T, resourceName: 't', configs: [] }], validateOnly: true }, c.ctx);
    expect(clear.records).toEqual([]);
    expect(clear.response.responses[0]!.errorCode).toBe(ErrorCode.NONE);
  });
});
