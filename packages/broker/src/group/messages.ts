/**
 * Request and response bodies of the group APIs: the codec's generated types (every field of the latest version we
 * serve, filled with its default for older versions), under the short names the coordinator uses.
 */
import type * as P from '@tributary/protocol';

export interface RequestContext {
  clientId: string;
  clientHost: string;
}

export type JoinGroupRequest = P.JoinGroupRequest;
export type JoinGroupResponse = P.JoinGroupResponse;
export type SyncGroupRequest = P.SyncGroupRequest;
export type SyncGroupResponse = P.SyncGroupResponse;
export type HeartbeatRequest = P.HeartbeatRequest;
export type HeartbeatResponse = P.HeartbeatResponse;
export type LeaveGroupRequest = P.LeaveGroupRequest;
export type LeaveGroupResponse = P.LeaveGroupResponse;
export type OffsetCommitRequest = P.OffsetCommitRequest;
export type OffsetCommitResponse = P.OffsetCommitResponse;
/** The top-level (v0-7) and per-group (v8+) topic lists have the same shape. */
export type OffsetFetchRequestTopic = P.OffsetFetchRequest_OffsetFetchRequestTopic;
export type OffsetFetchRequest = P.OffsetFetchRequest;
export type OffsetFetchResponsePartition = P.OffsetFetchResponse_OffsetFetchResponsePartition;
/** The top-level (v0-7) and per-group (v8+) topic lists have the same shape. */
export type OffsetFetchResponseTopic = P.OffsetFetchResponse_OffsetFetchResponseTopic;
export type OffsetFetchResponse = P.OffsetFetchResponse;
export type DescribeGroupsRequest = P.DescribeGroupsRequest;
export type DescribedGroupMember = P.DescribeGroupsResponse_DescribedGroupMember;
export type DescribedGroup = P.DescribeGroupsResponse_DescribedGroup;
export type DescribeGroupsResponse = P.DescribeGroupsResponse;
export type ListGroupsRequest = P.ListGroupsRequest;
export type ListGroupsResponse = P.ListGroupsResponse;
export type DeleteGroupsRequest = P.DeleteGroupsRequest;
export type DeleteGroupsResponse = P.DeleteGroupsResponse;
export type OffsetDeleteRequest = P.OffsetDeleteRequest;
export type OffsetDeleteResponse = P.OffsetDeleteResponse;
