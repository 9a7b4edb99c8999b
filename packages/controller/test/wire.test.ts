/**
 * Every ControllerService message through the real protobuf encoding (the service definition's serializers, as
 * grpc-js uses them): TS request -> wire -> bytes -> wire -> TS request is the identity, Kafka's nulls included, and
 * the same for responses. Plus the validation of inbound fields and the error trailers.
 */
import * as grpc from '@grpc/grpc-js';
import { ErrorCode as ProtocolErrorCode } from '@tributary/protocol';
import { describe, expect, it } from 'vitest';
import { ControllerError, ErrorCode } from '../src/errors.ts';
import { API_WIRES, Check, controllerErrorFromStatus, controllerErrorToStatus, controllerServiceClient, defaultWireLimits, describeQuorumWire, describeWire, type MethodWire } from '../src/wire.ts';

const service = controllerServiceClient().service;

function roundTrip<Req, Res>(wire: MethodWire<Req, Res>, request: Req, response: Res): void {
  const def = service[wire.rpc]!;
  const sent = { header: { clusterId: 'c', clientId: 'x' }, ...wire.requestToWire(request) };
  const received = def.requestDeserialize(def.requestSerialize(sent)) as Record<string, unknown>;
  expect(wire.requestFromWire(received, new Check(wire.rpc, defaultWireLimits)), `${wire.rpc} request`).toEqual(request);
  const answer = def.responseDeserialize(def.responseSerialize(wire.responseToWire(response))) as Record<string, unknown>;
  expect(wire.responseFromWire(answer), `${wire.rpc} response`).toEqual(response);
}

const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';

describe('controller.proto round trips', () => {
  it('carries every request and response unchanged', () => {
    roundTrip(
      API_WIRES.registerBroker,
      { brokerId: 3, incarnationId: 'AAAAAAAAAAAAAAAAAAAAAg', listeners: [{ name: 'PLAINTEXT', host: 'h', port: 9092 }], rack: null, features: [{ name: 'metadata.version', minSupportedVersion: 1, maxSupportedVersion: 7 }] },
      { errorCode: 0, errorMessage: null, brokerEpoch: 12 },
    );
    roundTrip(
      API_WIRES.registerBroker,
      { brokerId: 0, incarnationId: 'x', listeners: [], rack: 'r1', features: [] },
      { errorCode: ErrorCode.DUPLICATE_BROKER_REGISTRATION, errorMessage: 'Another broker is registered with that broker id.', brokerEpoch: -1 },
    );
    roundTrip(
      API_WIRES.brokerHeartbeat,
      { brokerId: 1, brokerEpoch: 2 ** 40, currentMetadataOffset: -1, wantFence: true, wantShutDown: false },
      { errorCode: 0, errorMessage: null, isCaughtUp: true, isFenced: false, shouldShutDown: true },
    );
    roundTrip(API_WIRES.unregisterBroker, { brokerId: 9 }, { errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED, errorMessage: 'Broker 9 is not registered.' });
    roundTrip(
      API_WIRES.alterPartition,
      { brokerId: 1, brokerEpoch: 5, topics: [{ topicId: TOPIC_ID, partitions: [{ partitionIndex: 2, leaderEpoch: 3, partitionEpoch: 4, newIsrWithEpochs: [{ brokerId: 1, brokerEpoch: -1 }, { brokerId: 2, brokerEpoch: 7 }] }] }] },
      { errorCode: 0, topics: [{ topicId: TOPIC_ID, partitions: [{ partitionIndex: 2, errorCode: 0, leaderId: 1, leaderEpoch: 3, isr: [1, 2], partitionEpoch: 5 }] }] },
    );
    roundTrip(API_WIRES.allocateProducerIds, { brokerId: 1, brokerEpoch: 5 }, { errorCode: 0, errorMessage: null, producerIdStart: 2 ** 45, producerIdLen: 1000 });
    roundTrip(
      API_WIRES.fetchMetadata,
      { fromOffset: 17, maxBytes: 1 << 20, maxWaitMs: 500, snapshot: null, brokerId: 2 },
      { entries: [{ offset: 17, epoch: 3, records: Buffer.from([1, 2, 3]) }, { offset: 19, epoch: 3, records: Buffer.from([4]) }], nextOffset: 20, snapshot: null },
    );
    roundTrip(
      API_WIRES.fetchMetadata,
      { fromOffset: 0, maxBytes: 64, maxWaitMs: 0, snapshot: { nextOffset: 30, position: 128 }, brokerId: -1 },
      { entries: [], nextOffset: 30, snapshot: { nextOffset: 30, totalBytes: 300, position: 128, data: Buffer.from([9, 9]) } },
    );
    roundTrip(
      API_WIRES.createTopics,
      {
        topics: [
          { name: 'a', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }], configs: [{ name: 'retention.ms', value: '1' }, { name: 'x', value: null }] },
          { name: 'b', numPartitions: 3, replicationFactor: 2, assignments: [], configs: [] },
        ],
        validateOnly: true,
      },
      {
        topics: [
          { name: 'a', topicId: TOPIC_ID, errorCode: 0, errorMessage: null, numPartitions: 1, replicationFactor: 2 },
          { name: 'b', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', errorCode: ErrorCode.INVALID_CONFIG, errorMessage: 'Unknown topic config name: x', numPartitions: -1, replicationFactor: -1 },
        ],
      },
    );
    roundTrip(
      API_WIRES.deleteTopics,
      { topics: [{ name: 'a', topicId: null }, { name: null, topicId: TOPIC_ID }] },
      { responses: [{ name: 'a', topicId: TOPIC_ID, errorCode: 0, errorMessage: null }, { name: null, topicId: TOPIC_ID, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: 'no' }] },
    );
    roundTrip(
      API_WIRES.createPartitions,
      { topics: [{ name: 'a', count: 4, assignments: null }, { name: 'b', count: 2, assignments: [{ brokerIds: [3, 1] }] }], validateOnly: false },
      { results: [{ name: 'a', errorCode: 0, errorMessage: null }, { name: 'b', errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: 'fewer' }] },
    );
    roundTrip(
      API_WIRES.incrementalAlterConfigs,
      { resources: [{ resourceType: 2, resourceName: 'a', configs: [{ name: 'k', configOperation: 1, value: null }, { name: 'l', configOperation: 2, value: 'x' }] }], validateOnly: false },
      { responses: [{ resourceType: 2, resourceName: 'a', errorCode: 0, errorMessage: null }] },
    );
    roundTrip(
      API_WIRES.alterConfigs,
      { resources: [{ resourceType: 4, resourceName: '', configs: [{ name: 'k', value: 'v' }, { name: 'd', value: null }] }], validateOnly: true },
      { responses: [{ resourceType: 4, resourceName: '', errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'why' }] },
    );
    roundTrip(
      API_WIRES.electLeaders,
      { electionType: 0, topicPartitions: null },
      { errorCode: 0, replicaElectionResults: [{ topic: 'a', partitionResult: [{ partitionId: 0, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: null }] }] },
    );
    roundTrip(API_WIRES.electLeaders, { electionType: 1, topicPartitions: [{ topic: 'a', partitions: [0, 2] }] }, { errorCode: 0, replicaElectionResults: [] });
    roundTrip(
      API_WIRES.alterPartitionReassignments,
      { topics: [{ name: 'a', partitions: [{ partitionIndex: 0, replicas: [3, 1, 2] }, { partitionIndex: 1, replicas: null }, { partitionIndex: 2, replicas: [] }] }] },
      {
        errorCode: 0,
        errorMessage: null,
        responses: [{ name: 'a', partitions: [{ partitionIndex: 0, errorCode: 0, errorMessage: null }, { partitionIndex: 1, errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, errorMessage: 'none' }] }],
      },
    );
    roundTrip(API_WIRES.alterPartitionReassignments, { topics: [] }, { errorCode: ErrorCode.POLICY_VIOLATION, errorMessage: 'too many', responses: [] });
    roundTrip(
      API_WIRES.listPartitionReassignments,
      { topics: null },
      { errorCode: 0, errorMessage: null, topics: [{ name: 'a', partitions: [{ partitionIndex: 3, replicas: [4, 1, 2], addingReplicas: [4], removingReplicas: [2] }] }] },
    );
    roundTrip(API_WIRES.listPartitionReassignments, { topics: [{ name: 'a', partitionIndexes: [0, 1] }, { name: 'b', partitionIndexes: [] }] }, { errorCode: 0, errorMessage: null, topics: [] });
    roundTrip(describeQuorumWire, null, {
      leaderId: 1,
      leaderEpoch: 4,
      highWatermark: 99,
      voters: [{ replicaId: 1, logEndOffset: 99, lastFetchMsAgo: 0 }, { replicaId: 2, logEndOffset: -1, lastFetchMsAgo: -1 }],
      observers: [],
    });
    roundTrip(
      describeWire,
      { includeImage: true },
      { nodeId: 2, role: 'follower', epoch: 4, leaderId: 1, active: false, appliedOffset: 50, highWatermark: 51, pendingOperations: 0, registeredBrokers: 3, topics: 2, partitions: 7, image: Buffer.from([0, 1]) },
    );
  });

  it('refuses malformed fields, naming them', () => {
    const from = <Req>(wire: MethodWire<Req, unknown>, w: Record<string, unknown>): unknown => {
      try {
        return wire.requestFromWire(w, new Check(wire.rpc, { maxListItems: 3, maxStringBytes: 10 }));
      } catch (err) {
        return err;
      }
    };
    const cases: [unknown, RegExp][] = [
      [from(API_WIRES.brokerHeartbeat, { brokerId: 1, brokerEpoch: 2 ** 60, currentMetadataOffset: 0, wantFence: false, wantShutDown: false }), /broker_epoch must be a safe integer/],
      [from(API_WIRES.brokerHeartbeat, { brokerId: 2 ** 31, brokerEpoch: 1, currentMetadataOffset: 0, wantFence: false, wantShutDown: false }), /broker_id must be within/],
      [from(API_WIRES.createTopics, { topics: [1, 2, 3, 4].map((i) => ({ name: `t${i}`, numPartitions: 1, replicationFactor: 1 })), validateOnly: false }), /topics has 4 items/],
      [from(API_WIRES.createTopics, { topics: [{ name: 'a-very-long-name', numPartitions: 1, replicationFactor: 1 }], validateOnly: false }), /topics\[0\]\.name is longer than 10 bytes/],
      [from(API_WIRES.createTopics, { topics: [{ name: 'a', numPartitions: 1.5, replicationFactor: 1 }], validateOnly: false }), /topics\[0\]\.num_partitions must be an integer/],
      [from(API_WIRES.fetchMetadata, { fromOffset: 0, maxBytes: 10, maxWaitMs: -1, brokerId: 1 }), /max_wait_ms/],
      [from(API_WIRES.electLeaders, { electionType: 0, hasTopicPartitions: false, topicPartitions: [{ topic: 'a', partitions: [] }] }), /has_topic_partitions/],
      [from(API_WIRES.alterPartitionReassignments, { topics: [{ name: 'a', partitions: [{ partitionIndex: 0, hasReplicas: false, replicas: [1] }] }] }), /topics\[0\]\.partitions\[0\]\.replicas are given but has_replicas is false/],
      [from(API_WIRES.alterPartitionReassignments, { topics: [{ name: 'a', partitions: [{ partitionIndex: 0, hasReplicas: true, replicas: [1, 2, 3, 4] }] }] }), /replicas has 4 items/],
      [from(API_WIRES.alterPartitionReassignments, { topics: [{ name: 'a', partitions: [{ partitionIndex: 0, hasReplicas: true, replicas: [2 ** 31] }] }] }), /replicas\[0\] must be within/],
      [from(API_WIRES.listPartitionReassignments, { hasTopics: false, topics: [{ name: 'a', partitionIndexes: [0] }] }), /has_topics/],
      [from(API_WIRES.listPartitionReassignments, { hasTopics: true, topics: [{ name: 'a', partitionIndexes: [-1] }] }), /partition_indexes\[0\] must be within \[0/],
    ];
    for (const [err, why] of cases) {
      expect(err).toBeInstanceOf(ControllerError);
      expect((err as ControllerError).reason).toBe('malformed');
      expect((err as ControllerError).errorCode).toBe(ErrorCode.INVALID_REQUEST);
      expect((err as ControllerError).message).toMatch(why);
    }
  });

  it('carries a ControllerError through gRPC status and trailers', () => {
    const original = new ControllerError('not-controller', 'controller 2 is not the active controller', 3, '127.0.0.1:1903');
    const status = controllerErrorToStatus(original);
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    const back = controllerErrorFromStatus({ ...status, message: '', name: 'Error' } as grpc.ServiceError, 'controller 2');
    expect(back).toMatchObject({ reason: 'not-controller', errorCode: ErrorCode.NOT_CONTROLLER, activeControllerId: 3, activeControllerEndpoint: '127.0.0.1:1903', message: original.message });
    expect(back.retriable).toBe(true);
    const transport = controllerErrorFromStatus({ code: grpc.status.UNAVAILABLE, details: 'connect ECONNREFUSED', metadata: new grpc.Metadata() } as grpc.ServiceError, 'controller 1');
    expect(transport).toMatchObject({ reason: 'unavailable', retriable: true });
    const late = controllerErrorFromStatus({ code: grpc.status.DEADLINE_EXCEEDED, details: 'Deadline exceeded', metadata: new grpc.Metadata() } as grpc.ServiceError, 'controller 1');
    expect(late).toMatchObject({ reason: 'timeout', errorCode: ErrorCode.REQUEST_TIMED_OUT, retriable: false });
  });

  it("uses Kafka's error codes, as @tributary/protocol has them", () => {
    for (const [name, code] of Object.entries(ErrorCode)) expect(ProtocolErrorCode[name as keyof typeof ProtocolErrorCode], name).toBe(code);
  });
});
