// src/io/protobuf.ts: the small part of the Protocol Buffers wire format
// (https://protobuf.dev/programming-guides/encoding/) that writing an ONNX model needs: varints,
// length-delimited fields (strings, bytes, nested messages), fixed32 floats and packed repeated
// numbers. A message is built as a list of fields; nested messages are encoded first, so every
// length is known when it is written. No dependency, and it runs in the browser too.

/** One message under construction. Field numbers come from the .proto being written. */
export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  private tag(field: number, wireType: 0 | 1 | 2 | 5): void {
    this.push(varint(field * 8 + wireType));
  }

  /** A varint field (int32, int64, enum, bool); negative values as 10-byte two's complement. */
  int(field: number, value: number): this {
    this.tag(field, 0);
    this.push(varint(value));
    return this;
  }

  /** A float field (fixed32). */
  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.push(varint(value.length));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish());
  }

  /** A packed repeated varint field (e.g. repeated int64 dims). */
  packedInts(field: number, values: readonly number[]): this {
    const w = new ProtoWriter();
    for (const v of values) w.push(varint(v));
    return this.bytes(field, w.finish());
  }

  /** A packed repeated float field. */
  packedFloats(field: number, values: ArrayLike<number>): this {
    const b = new Uint8Array(4 * values.length),
      view = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
    return this.bytes(field, b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let pos = 0;
    for (const p of this.parts) {
      out.set(p, pos);
      pos += p.length;
    }
    return out;
  }
}

/** The varint bytes of an integer in the safe range (negative: 64-bit two's complement). */
export function varint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value)) throw new RangeError(`varint: ${value} is not a safe integer`);
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? byte | 0x80 : byte);
  } while (v > 0n);
  return Uint8Array.from(out);
}
