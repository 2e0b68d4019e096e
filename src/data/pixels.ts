// src/data/pixels.ts: how every loader turns 8-bit pixels into float32 values in [0, 1].

/** UNIT_OF_BYTE[k] = the float32 of k/255: the one table behind every uint8 -> [0, 1] conversion. */
export const UNIT_OF_BYTE = new Float32Array(256).map((_, k) => k / 255);
