export { ApiKey, type ApiName, type ApiKeyValue, schemaVersionRange, requestHeaderVersion, responseHeaderVersion, isFlexible, isSupportedVersion } from './apis.ts';
export { ErrorCode, errorName, ProtocolError, type ErrorCodeName } from './errors.ts';
export { readRequestHeader, decodeRequestBody, encodeResponse, encodeRequest, decodeResponse, type RequestHeader, type ParsedRequestHeader } from './frame.ts';
export { ZERO_UUID } from './codec.ts';
export { Reader } from './reader.ts';
export { Writer } from './writer.ts';
