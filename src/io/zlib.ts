// src/io/zlib.ts: the zlib format (RFC 1950) around DEFLATE (RFC 1951), in plain TypeScript, so
// that PNG encoding and decoding need no node:zlib and run in a browser too.
// - inflate reads every valid stream: stored, fixed-Huffman and dynamic-Huffman blocks; it checks
//   the header, the Adler-32 trailer and every code, and stops at a length limit (a PNG knows how
//   many bytes its image needs, so a zlib bomb cannot exhaust memory).
// - deflate writes one fixed-Huffman block with LZ77 matches found through hash chains (or stored
//   blocks when that would be larger): simple, and good on the flat areas of plots and digits.
//   Output differs byte for byte from zlib's, but any inflater (zlib, browsers) reads it.

/** What inflate refuses: a damaged or truncated stream, or one longer than the limit given. */
export class ZlibError extends Error {
  override name = 'ZlibError';
  /** 'too-long' when the data would exceed maxLength; 'corrupt' for anything else. */
  readonly code: 'too-long' | 'corrupt';
  constructor(code: 'too-long' | 'corrupt', message: string) {
    super(message);
    this.code = code;
  }
}

const corrupt = (why: string): never => {
  throw new ZlibError('corrupt', why);
};

/** Adler-32 (RFC 1950) of bytes. */
export function adler32(bytes: Uint8Array): number {
  let a = 1,
    b = 0;
  // 5552 is the most bytes whose sums stay below 2^53 / stay exact before the modulo (zlib's NMAX).
  for (let start = 0; start < bytes.length; start += 5552) {
    const end = Math.min(bytes.length, start + 5552);
    for (let i = start; i < end; i++) {
      a += bytes[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

// ----------------------------------------------------------------------------- shared tables

/** Length codes 257..285: base length and extra bits (RFC 1951 3.2.5). */
const LENGTH_BASE = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
  163, 195, 227, 258,
];
const LENGTH_EXTRA = [
  0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/** Distance codes 0..29: base distance and extra bits. */
const DIST_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049,
  3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA = [
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];
/** The order in which a dynamic block lists the code lengths of the code-length alphabet. */
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Code lengths of the fixed literal/length code (288 symbols) and distance code (30 used). */
const FIXED_LITLEN_LENGTHS = Array.from({ length: 288 }, (_, s) =>
  s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8,
);
const FIXED_DIST_LENGTHS = new Array<number>(30).fill(5);

/** The low `len` bits of `code`, reversed (Huffman codes are sent most significant bit first). */
function reverseBits(code: number, len: number): number {
  let r = 0;
  for (let i = 0; i < len; i++) r = (r << 1) | ((code >>> i) & 1);
  return r;
}

/** Canonical Huffman codes for code lengths (RFC 1951 3.2.2), or null when over-subscribed. */
function canonicalCodes(lengths: ArrayLike<number>): { codes: number[]; maxLen: number } | null {
  const count = new Array<number>(16).fill(0);
  let maxLen = 0;
  for (let s = 0; s < lengths.length; s++) {
    count[lengths[s]]++;
    maxLen = Math.max(maxLen, lengths[s]);
  }
  count[0] = 0;
  let left = 1;
  for (let len = 1; len <= 15; len++) {
    left = 2 * left - count[len];
    if (left < 0) return null; // more codes of this length than the tree has room for
  }
  const next = new Array<number>(16).fill(0);
  for (let len = 1, code = 0; len <= 15; len++) {
    code = (code + count[len - 1]) << 1;
    next[len] = code;
  }
  const codes = Array.from({ length: lengths.length }, (_, s) =>
    lengths[s] === 0 ? 0 : next[lengths[s]]++,
  );
  return { codes, maxLen };
}

// ----------------------------------------------------------------------------------- inflate

/** A decoding table: entry = symbol << 4 | code length, indexed by the next maxLen bits. */
interface DecodeTable {
  readonly entries: Uint16Array;
  readonly maxLen: number;
}

function decodeTable(lengths: ArrayLike<number>, what: string): DecodeTable {
  const canon = canonicalCodes(lengths);
  if (canon === null) return corrupt(`over-subscribed ${what} code`);
  const { codes, maxLen } = canon;
  const entries = new Uint16Array(1 << Math.max(maxLen, 1)); // 0 = no code (an incomplete tree)
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s];
    if (len === 0) continue;
    for (let i = reverseBits(codes[s], len); i < entries.length; i += 1 << len)
      entries[i] = (s << 4) | len;
  }
  return { entries, maxLen: Math.max(maxLen, 1) };
}

const FIXED_LITLEN = decodeTable(FIXED_LITLEN_LENGTHS, 'literal/length');
const FIXED_DIST = decodeTable(FIXED_DIST_LENGTHS, 'distance');

/** Reads bits least significant first; past the end it reads zeros and counts them. */
class BitReader {
  pos: number;
  private buf = 0;
  private count = 0;
  /** Zero bytes read past the end of the data. */
  private padding = 0;
  constructor(
    private readonly src: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }

  private fill(n: number): void {
    while (this.count < n) {
      const byte = this.pos < this.src.length ? this.src[this.pos++] : (this.padding++, 0);
      this.buf |= byte << this.count;
      this.count += 8;
    }
  }

  /** Throws when the stream used bits that are not there. */
  checkEnd(): void {
    if (this.padding * 8 > this.count) corrupt('unexpected end of data');
  }

  bits(n: number): number {
    if (n === 0) return 0;
    this.fill(n);
    const v = this.buf & ((1 << n) - 1);
    this.buf >>>= n;
    this.count -= n;
    return v;
  }

  decode(t: DecodeTable): number {
    this.fill(t.maxLen);
    const e = t.entries[this.buf & ((1 << t.maxLen) - 1)],
      len = e & 15;
    if (len === 0) corrupt('invalid Huffman code');
    this.buf >>>= len;
    this.count -= len;
    return e >> 4;
  }

  /** Drops the bits up to the next byte boundary and returns the reader to whole bytes. */
  alignToByte(): void {
    this.bits(this.count & 7);
    this.checkEnd();
    const whole = this.count >> 3; // bytes read ahead into the buffer, given back
    this.pos -= whole - this.padding;
    this.padding = 0;
    this.buf = 0;
    this.count = 0;
  }
}

/** A growing output buffer that refuses to pass maxLength. */
class Output {
  data: Uint8Array;
  length = 0;
  constructor(
    initial: number,
    private readonly maxLength: number,
  ) {
    this.data = new Uint8Array(Math.max(64, Math.min(initial, maxLength)));
  }

  reserve(n: number): void {
    const need = this.length + n;
    if (need > this.maxLength)
      throw new ZlibError('too-long', `data is longer than the limit of ${this.maxLength} bytes`);
    if (need <= this.data.length) return;
    const grown = new Uint8Array(Math.min(this.maxLength, Math.max(need, 2 * this.data.length)));
    grown.set(this.data.subarray(0, this.length));
    this.data = grown;
  }
}

/** Reads a dynamic block's code lengths and builds its two tables. */
function dynamicTables(r: BitReader): [DecodeTable, DecodeTable] {
  const nLit = r.bits(5) + 257,
    nDist = r.bits(5) + 1,
    nClen = r.bits(4) + 4;
  if (nLit > 286 || nDist > 30) corrupt('too many length or distance symbols');
  const clen = new Array<number>(19).fill(0);
  for (let i = 0; i < nClen; i++) clen[CLEN_ORDER[i]] = r.bits(3);
  const clenTable = decodeTable(clen, 'code-length');
  const lengths = new Array<number>(nLit + nDist).fill(0);
  for (let i = 0; i < lengths.length;) {
    const sym = r.decode(clenTable);
    if (sym < 16) {
      lengths[i++] = sym;
      continue;
    }
    let value = 0,
      repeat: number;
    if (sym === 16) {
      if (i === 0) corrupt('a repeated code length with nothing to repeat');
      value = lengths[i - 1];
      repeat = 3 + r.bits(2);
    } else repeat = sym === 17 ? 3 + r.bits(3) : 11 + r.bits(7);
    if (i + repeat > lengths.length) corrupt('code lengths run past their count');
    for (let k = 0; k < repeat; k++) lengths[i++] = value;
  }
  if (lengths[256] === 0) corrupt('no end-of-block code');
  return [
    decodeTable(lengths.slice(0, nLit), 'literal/length'),
    decodeTable(lengths.slice(nLit), 'distance'),
  ];
}

/** Decodes one Huffman-coded block's symbols into out, up to its end-of-block code. */
function inflateBlock(r: BitReader, out: Output, lit: DecodeTable, dist: DecodeTable): void {
  for (;;) {
    const sym = r.decode(lit);
    if (sym < 256) {
      out.reserve(1);
      out.data[out.length++] = sym;
      continue;
    }
    if (sym === 256) return;
    const li = sym - 257;
    if (li >= 29) corrupt(`invalid length symbol ${sym}`);
    const length = LENGTH_BASE[li] + r.bits(LENGTH_EXTRA[li]);
    const di = r.decode(dist);
    if (di >= 30) corrupt(`invalid distance symbol ${di}`);
    const distance = DIST_BASE[di] + r.bits(DIST_EXTRA[di]);
    if (distance > out.length) corrupt(`distance ${distance} reaches before the start of the data`);
    out.reserve(length);
    const d = out.data;
    // byte by byte: a match may overlap the bytes it produces (distance < length)
    for (let k = 0, from = out.length - distance; k < length; k++) d[out.length++] = d[from + k];
    r.checkEnd();
  }
}

/**
 * Decompresses a zlib stream. Throws a ZlibError: code 'too-long' as soon as the data would pass
 * maxLength bytes, 'corrupt' for a bad header, block, code or checksum, or truncated data.
 */
export function inflate(src: Uint8Array, maxLength = 2 ** 31 - 1): Uint8Array {
  if (src.length < 2) corrupt('unexpected end of data');
  const cmf = src[0],
    flg = src[1];
  if ((cmf & 15) !== 8 || cmf >> 4 > 7) corrupt('not a zlib stream (unknown compression method)');
  if ((cmf * 256 + flg) % 31 !== 0) corrupt('incorrect header check');
  if (flg & 0x20) corrupt('needs a preset dictionary');
  const r = new BitReader(src, 2),
    out = new Output(4 * src.length, maxLength);
  let final = 0;
  while (!final) {
    final = r.bits(1);
    const type = r.bits(2);
    if (type === 0) {
      r.alignToByte();
      if (r.pos + 4 > src.length) corrupt('unexpected end of data');
      const len = src[r.pos] | (src[r.pos + 1] << 8),
        nlen = src[r.pos + 2] | (src[r.pos + 3] << 8);
      if ((len ^ 0xffff) !== nlen) corrupt('stored block length does not match its complement');
      r.pos += 4;
      if (r.pos + len > src.length) corrupt('unexpected end of data');
      out.reserve(len);
      out.data.set(src.subarray(r.pos, r.pos + len), out.length);
      out.length += len;
      r.pos += len;
    } else if (type === 1) inflateBlock(r, out, FIXED_LITLEN, FIXED_DIST);
    else if (type === 2) inflateBlock(r, out, ...dynamicTables(r));
    else corrupt('invalid block type');
    r.checkEnd();
  }
  r.alignToByte();
  if (r.pos + 4 > src.length) corrupt('unexpected end of data (no Adler-32 checksum)');
  const data = out.data.subarray(0, out.length);
  const stored =
    ((src[r.pos] << 24) | (src[r.pos + 1] << 16) | (src[r.pos + 2] << 8) | src[r.pos + 3]) >>> 0;
  if (stored !== adler32(data)) corrupt('incorrect data check (Adler-32)');
  return data;
}

// ----------------------------------------------------------------------------------- deflate

/** Writes bits least significant first. */
class BitWriter {
  data = new Uint8Array(1024);
  length = 0;
  private buf = 0;
  private count = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.data.length) return;
    const grown = new Uint8Array(Math.max(2 * this.data.length, this.length + n));
    grown.set(this.data.subarray(0, this.length));
    this.data = grown;
  }

  /** The low n (<= 24) bits of v. */
  bits(v: number, n: number): void {
    this.buf |= v << this.count;
    this.count += n;
    this.ensure(4);
    while (this.count >= 8) {
      this.data[this.length++] = this.buf & 0xff;
      this.buf >>>= 8;
      this.count -= 8;
    }
  }

  flushByte(): void {
    if (this.count > 0) this.bits(0, 8 - this.count);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.data.set(b, this.length);
    this.length += b.length;
  }
}

/** The fixed codes, bit-reversed for the writer: code = table[symbol] >> 4, length = & 15. */
const FIXED_LITLEN_OUT = (() => {
  const { codes } = canonicalCodes(FIXED_LITLEN_LENGTHS)!;
  return codes.map(
    (c, s) => (reverseBits(c, FIXED_LITLEN_LENGTHS[s]) << 4) | FIXED_LITLEN_LENGTHS[s],
  );
})();
const FIXED_DIST_OUT = (() => {
  const { codes } = canonicalCodes(FIXED_DIST_LENGTHS)!;
  return codes.map((c) => (reverseBits(c, 5) << 4) | 5);
})();
/** For each match length 3..258: its length code index (0..28). */
const LENGTH_INDEX = (() => {
  const t = new Uint8Array(259);
  for (let i = 0; i < 29; i++) {
    const end = i === 28 ? 259 : LENGTH_BASE[i + 1];
    for (let len = LENGTH_BASE[i]; len < end && len < 259; len++) t[len] = i;
  }
  t[258] = 28;
  return t;
})();

function distIndex(distance: number): number {
  let i = 29;
  while (DIST_BASE[i] > distance) i--;
  return i;
}

const WINDOW = 32768,
  MIN_MATCH = 3,
  MAX_MATCH = 258,
  MAX_CHAIN = 64,
  HASH_BITS = 15;

/** One final fixed-Huffman block of `src`, LZ77 matches found through hash chains. */
function fixedBlock(src: Uint8Array): BitWriter {
  const w = new BitWriter(),
    n = src.length;
  const head = new Int32Array(1 << HASH_BITS).fill(-1),
    prev = new Int32Array(WINDOW);
  const hashAt = (i: number) =>
    (((src[i] << 10) ^ (src[i + 1] << 5) ^ src[i + 2]) & ((1 << HASH_BITS) - 1)) >>> 0;
  const insert = (i: number) => {
    if (i + MIN_MATCH > n) return;
    const h = hashAt(i);
    prev[i & (WINDOW - 1)] = head[h];
    head[h] = i;
  };
  const literal = (v: number) => w.bits(FIXED_LITLEN_OUT[v] >> 4, FIXED_LITLEN_OUT[v] & 15);
  w.bits(1, 1); // BFINAL
  w.bits(1, 2); // BTYPE 01: fixed Huffman
  let i = 0;
  while (i < n) {
    let bestLen = 0,
      bestDist = 0;
    if (i + MIN_MATCH <= n) {
      const limit = Math.min(MAX_MATCH, n - i);
      let cand = head[hashAt(i)];
      for (let chain = 0; cand >= 0 && i - cand <= WINDOW && chain < MAX_CHAIN; chain++) {
        if (src[cand + bestLen] === src[i + bestLen]) {
          let len = 0;
          while (len < limit && src[cand + len] === src[i + len]) len++;
          if (len > bestLen) [bestLen, bestDist] = [len, i - cand];
          if (len === limit) break;
        }
        const next = prev[cand & (WINDOW - 1)];
        if (next >= cand) break; // the slot was reused by a newer position: chain ends
        cand = next;
      }
    }
    if (bestLen >= MIN_MATCH) {
      const li = LENGTH_INDEX[bestLen],
        lsym = FIXED_LITLEN_OUT[257 + li];
      w.bits(lsym >> 4, lsym & 15);
      w.bits(bestLen - LENGTH_BASE[li], LENGTH_EXTRA[li]);
      const di = distIndex(bestDist);
      w.bits(FIXED_DIST_OUT[di] >> 4, 5);
      w.bits(bestDist - DIST_BASE[di], DIST_EXTRA[di]);
      for (let k = 0; k < bestLen; k++) insert(i + k);
      i += bestLen;
    } else {
      literal(src[i]);
      insert(i);
      i++;
    }
  }
  literal(256); // end of block
  w.flushByte();
  return w;
}

/** `src` as stored (uncompressed) blocks of at most 65535 bytes. */
function storedBlocks(src: Uint8Array): BitWriter {
  const w = new BitWriter();
  let off = 0;
  do {
    const len = Math.min(65535, src.length - off),
      final = off + len === src.length ? 1 : 0;
    w.bits(final, 1);
    w.bits(0, 2);
    w.flushByte();
    w.bits(len, 16);
    w.bits(len ^ 0xffff, 16);
    w.bytes(src.subarray(off, off + len));
    off += len;
  } while (off < src.length);
  return w;
}

/** Compresses bytes as a zlib stream (see the header for the method). */
export function deflate(src: Uint8Array): Uint8Array {
  let body = fixedBlock(src);
  if (body.length > src.length + 5 * Math.ceil(src.length / 65535 + 1)) body = storedBlocks(src);
  const out = new Uint8Array(2 + body.length + 4);
  out[0] = 0x78; // deflate, 32K window
  out[1] = 0x01; // no dictionary; (0x78 * 256 + 0x01) % 31 === 0
  out.set(body.data.subarray(0, body.length), 2);
  const sum = adler32(src),
    end = 2 + body.length;
  out[end] = sum >>> 24;
  out[end + 1] = (sum >>> 16) & 0xff;
  out[end + 2] = (sum >>> 8) & 0xff;
  out[end + 3] = sum & 0xff;
  return out;
}
