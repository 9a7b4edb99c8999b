import { describe, expect, it } from 'vitest';
import { BrokerConfig, ConfigError } from '@tributary/broker';
import { configFromEnv, envNameToKey, keyToEnvName, parseProperties } from '../src/config-sources.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/node.ts';

describe('KAFKA_* environment mapping', () => {
  it('maps names the way the apache/kafka image does', () => {
    expect(envNameToKey('KAFKA_NODE_ID')).toBe('node.id');
    expect(envNameToKey('KAFKA_LISTENER_SECURITY_PROTOCOL_MAP')).toBe('listener.security.protocol.map');
    expect(envNameToKey('KAFKA_FOO__BAR')).toBe('foo_bar');
    expect(envNameToKey('KAFKA_FOO___BAR')).toBe('foo-bar');
  });

  it('maps keys back to the variable names, for error messages', () => {
    for (const name of ['KAFKA_NODE_ID', 'KAFKA_LISTENER_SECURITY_PROTOCOL_MAP', 'KAFKA_FOO__BAR', 'KAFKA_FOO___BAR', 'KAFKA_A__B___C_D']) {
      expect(keyToEnvName(envNameToKey(name))).toBe(name);
    }
  });

  it('a bad value names where it was set: the variable, the file or the override', () => {
    const message = (f: () => unknown): string => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(message(() => loadConfig({ env: { KAFKA_NUM_PARTITIONS: 'abc' } }))).toMatch(/num\.partitions.*set by environment variable KAFKA_NUM_PARTITIONS/);
    const file = join(mkdtempSync(join(tmpdir(), 'trib-config-')), 'server.properties');
    writeFileSync(file, 'num.partitions=-1\n');
    expect(message(() => loadConfig({ env: { KAFKA_NUM_PARTITIONS: 'abc' }, configFile: file }))).toMatch(/"-1".*num\.partitions.*set by config file .*server\.properties/);
    expect(message(() => loadConfig({ configFile: file, overrides: { 'num.partitions': 'x' } }))).toMatch(/"x".*set by --override num\.partitions=/);
  });

  it('ignores the image\'s own variables and non-Kafka ones', () => {
    expect(configFromEnv({ KAFKA_HEAP_OPTS: '-Xmx1G', KAFKA_NUM_PARTITIONS: '3', PATH: '/bin', KAFKA_JMX_PORT: '9999' })).toEqual({ 'num.partitions': '3' });
  });

  it('accepts the seed tutorial\'s single-node compose environment', () => {
    const env = {
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://broker:9092,CONTROLLER://broker:9093',
      KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://localhost:9092',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@broker:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_NUM_PARTITIONS: '3',
    };
    const config = loadConfig({ env });
    expect(config.nodeId).toBe(1);
    expect(config.int('num.partitions')).toBe(3);
    expect(config.clientListeners).toEqual([{ name: 'PLAINTEXT', host: 'broker', port: 9092 }]);
    expect(config.advertisedListeners).toEqual([{ name: 'PLAINTEXT', host: 'localhost', port: 9092 }]);
  });
});

describe('properties files', () => {
  it('parses comments, separators and continuations', () => {
    const props = parseProperties('# c\n! c\nnode.id=3\nlog.dirs : /tmp/a,\\\n  /tmp/b\nnum.partitions 4\n', 'x.properties');
    expect(props).toEqual({ 'node.id': '3', 'log.dirs': '/tmp/a,/tmp/b', 'num.partitions': '4' });
  });
});

describe('BrokerConfig validation', () => {
  it('starts from zero config as one node on 127.0.0.1:9092 with data under ./data', () => {
    const c = new BrokerConfig({});
    expect(c.nodeId).toBe(1);
    expect(c.clientListeners).toEqual([{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9092 }]);
    expect(c.dataDir).toBe('./data');
    expect(c.bool('auto.create.topics.enable')).toBe(true);
  });

  it('names an unknown key', () => {
    expect(() => new BrokerConfig({ 'num.partitons': '3' })).toThrowError(/unknown config num\.partitons/);
  });

  it('names the key and the value of an invalid value', () => {
    const err = (() => {
      try {
        new BrokerConfig({ 'num.partitions': 'three' });
      } catch (e) {
        return e as ConfigError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.key).toBe('num.partitions');
    expect(err!.message).toMatch(/"three".*num\.partitions.*integer/);
    expect(() => new BrokerConfig({ 'auto.create.topics.enable': 'yes' })).toThrowError(/true or false/);
    expect(() => new BrokerConfig({ listeners: 'localhost:9092' })).toThrowError(/NAME:\/\/host:port/);
    expect(() => new BrokerConfig({ 'num.partitions': '0' })).toThrowError(/at least 1/);
  });

  it('refuses security protocols it does not implement', () => {
    expect(() => new BrokerConfig({ listeners: 'SSL://127.0.0.1:9093', 'listener.security.protocol.map': 'SSL:SSL' })).toThrowError(/only PLAINTEXT/);
  });

  it('overrides win over the file, and the file over the environment', () => {
    const c = loadConfig({ env: { KAFKA_NUM_PARTITIONS: '2', KAFKA_NODE_ID: '7' }, overrides: { 'num.partitions': '5' } });
    expect(c.int('num.partitions')).toBe(5);
    expect(c.nodeId).toBe(7);
  });

  it('applies Kafka\'s precedence of log.retention.ms over minutes over hours', () => {
    expect(new BrokerConfig({ 'log.retention.hours': '1' }).explicitValue('log.retention.ms')).toBe('3600000');
    expect(new BrokerConfig({ 'log.retention.hours': '1', 'log.retention.minutes': '2' }).explicitValue('log.retention.ms')).toBe('120000');
    expect(new BrokerConfig({ 'log.retention.ms': '5', 'log.retention.minutes': '2' }).explicitValue('log.retention.ms')).toBe('5');
  });
});

describe('docs/config.md', () => {
  it('is regenerated from the config definitions', async () => {
    const { execFileSync } = await import('node:child_process');
    const script = new URL('../scripts/config-doc.ts', import.meta.url).pathname;
    expect(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' })).not.toThrow();
  });
});
