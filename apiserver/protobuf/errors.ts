/**
 * The error raised for a protobuf request body skiff cannot turn into an object.
 * httpStatus is 400 for malformed bytes and 415 for a well-formed envelope holding a kind skiff cannot decode
 * from protobuf (the client may resend it as JSON).
 */
export class ProtobufDecodeError extends Error {
  override readonly name = 'ProtobufDecodeError';

  constructor(
    message: string,
    readonly httpStatus: 400 | 415 = 400,
  ) {
    super(message);
  }
}
