/**
 * A reader for the protobuf wire format: varints, 64- and 32-bit fixed values and length-delimited runs.
 * It reads from a bounded window of a buffer and reports malformed input as ProtobufDecodeError.
 */
import { ProtobufDecodeError } from './errors.ts';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

const TWO_32 = 4294967296;

export class WireReader {
  private pos: number;
  /** the low and high 32 bits of the last varint read */
  lo = 0;
  hi = 0;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  get offset(): number {
    return this.pos;
  }

  /** reads a varint of up to 64 bits into lo/hi */
  varint(): void {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtobufDecodeError(`truncated varint at byte ${this.pos}`);
      const b = this.buf[this.pos++]!;
      const bits = b & 0x7f;
      const shift = 7 * i;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else if (shift < 63) hi |= bits << (shift - 32);
      else hi |= (bits & 0x01) << 31;
      if ((b & 0x80) === 0) {
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    throw new ProtobufDecodeError(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  /** a varint small enough for a JavaScript number without loss (tags and lengths) */
  uint(): number {
    this.varint();
    if (this.hi >= 0x200000) throw new ProtobufDecodeError(`value too large at byte ${this.pos}`);
    return this.hi * TWO_32 + this.lo;
  }

  int32(): number {
    this.varint();
    return this.lo | 0;
  }

  uint32(): number {
    this.varint();
    return this.lo;
  }

  /** a signed 64-bit varint as a number (exact up to 2^53) */
  int64(): number {
    this.varint();
    return (this.hi | 0) * TWO_32 + this.lo;
  }

  /** a signed 64-bit varint, exact */
  int64Exact(): bigint {
    this.varint();
    return BigInt.asIntN(64, (BigInt(this.hi) << 32n) | BigInt(this.lo));
  }

  uint64(): number {
    this.varint();
    return this.hi * TWO_32 + this.lo;
  }

  bool(): boolean {
    this.varint();
    return (this.lo | this.hi) !== 0;
  }

  double(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** the payload of a length-delimited field, as a view into the buffer */
  bytes(): Buffer {
    const len = this.uint();
    this.need(len);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /** skips a field's value of the given wire type */
  skip(wireType: number, fieldNumber: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.need(8);
        this.pos += 8;
        return;
      case WIRE_BYTES: {
        const len = this.uint();
        this.need(len);
        this.pos += len;
        return;
      }
      case WIRE_FIXED32:
        this.need(4);
        this.pos += 4;
        return;
      case WIRE_START_GROUP: {
        for (;;) {
          const key = this.uint();
          if ((key & 7) === WIRE_END_GROUP) return;
          this.skip(key & 7, Math.floor(key / 8));
        }
      }
      default:
        throw new ProtobufDecodeError(`field ${fieldNumber} has unknown wire type ${wireType} at byte ${this.pos}`);
    }
  }

  private need(n: number): void {
    if (this.pos + n > this.end) {
      throw new ProtobufDecodeError(
        `truncated input: ${n} bytes needed at byte ${this.pos}, only ${this.end - this.pos} left`,
      );
    }
  }
}
