// src/data/npyEncode.ts: writing NumPy .npy arrays (format 1.0, C order, little-endian), the
// inverse of parseNpy: numpy.load reads what this writes.
import { Tensor, ValueError } from '../tensor/index.js';
import type { NpyArray, NpyDType } from './npy.js';

const DESCR: Readonly<Record<NpyDType, string>> = {
  float32: '<f4',
  float64: '<f8',
  uint8: '|u1',
  int32: '<i4',
  int64: '<i8',
};
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The bytes of a .npy file holding `array`: a Tensor (float32 -> '<f4', float64 -> '<f8', int32
 * -> '<i4') or an NpyArray (any NpyDType; int64 values are widened from their Int32Array).
 * The header is padded with spaces to a multiple of 64 bytes, as numpy does.
 */
export function encodeNpy(array: Tensor | NpyArray): Uint8Array {
  const fn = 'encodeNpy';
  if (!LITTLE_ENDIAN_HOST) throw new Error(`${fn}: .npy writing needs a little-endian platform`);
  const { dtype, shape, data } =
    array instanceof Tensor ? { dtype: array.dtype, shape: array.shape, data: array.data } : array;
  if (!Object.hasOwn(DESCR, dtype)) throw new ValueError(`${fn}: unknown dtype '${String(dtype)}'`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new ValueError(
      `${fn}: shape [${shape.join(',')}] holds ${count} values but the data has ${data.length}`,
    );
  }
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': (${dims}), }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const itemBytes = dtype === 'int64' ? 8 : data.BYTES_PER_ELEMENT;
  const out = new Uint8Array(total + count * itemBytes);
  out.set([0x93, 78, 85, 77, 80, 89, 1, 0]); // \x93NUMPY, version 1.0
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  if (dtype === 'int64') {
    for (let i = 0; i < count; i++) view.setBigInt64(total + 8 * i, BigInt(data[i]), true);
  } else {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  }
  return out;
}
