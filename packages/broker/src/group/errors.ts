/** The group coordinator answers with the protocol package's Kafka error codes. */
export { ErrorCode } from '@tributary/protocol';
