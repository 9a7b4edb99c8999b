export { ApiKey, type ApiName, type ApiKeyValue, schemaVersionRange, requestHeaderVersion, responseHeaderVersion, isFlexible, isSupportedVersion } from './apis.ts';
export { ErrorCode, errorName, ProtocolError, type ErrorCodeName } from './errors.ts';
export { readRequestHeader, decodeRequestBody, encodeResponse, encodeRequest, decodeResponse, type RequestHeader, type ParsedRequestHeader } from './frame.ts';
export { ZERO_UUID } from './codec.ts';
export { Reader } from './reader.ts';
export { Writer } from './writer.ts';
export * from './records.ts';
export { CompressionType, type CompressionTypeValue, type CompressionName, compress, decompress, compressionType } from './compression.ts';
export { crc32c } from './crc32c.ts';
