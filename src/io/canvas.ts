// src/io/canvas.ts: an RGB drawing buffer for the plots (plot.ts) and other pictures: filled
// rectangles, lines and text in a built-in 5x7 bitmap font. Bytes only, no Node imports.

/**
 * ASCII 32..126, 5x7 pixels: 7 rows per glyph as 2 hex digits each, bit 4 = leftmost column.
 * Drawn for layerwise; characters outside the range print as '?'. The descenders g, p, q, y are
 * drawn 2 rows lower (their 7 rows are x-height body plus tail).
 */
const FONT_HEX =
  '00000000000000' +
  '04040404040004' +
  '0a0a0000000000' +
  '0a0a1f0a1f0a0a' +
  '040f140e051e04' + //  !"#$
  '18190204081303' +
  '0c12140815120d' +
  '04040000000000' +
  '02040808080402' +
  '08040202020408' + // %&'()
  '0004150e150400' +
  '0004041f040400' +
  '000000000c0408' +
  '0000001f000000' +
  '00000000000c0c' + // *+,-.
  '00010204081000' +
  '0e11131519110e' +
  '040c040404040e' +
  '0e11010204081f' +
  '1f02040201110e' + // /0123
  '02060a121f0202' +
  '1f101e0101110e' +
  '0608101e11110e' +
  '1f010204080808' +
  '0e11110e11110e' + // 45678
  '0e11110f01020c' +
  '000c0c000c0c00' +
  '000c0c000c0408' +
  '02040810080402' +
  '00001f001f0000' + // 9:;<=
  '08040201020408' +
  '0e110102040004' +
  '0e11010d15150e' +
  '0e11111f111111' +
  '1e11111e11111e' + // >?@AB
  '0e11101010110e' +
  '1c12111111121c' +
  '1f10101e10101f' +
  '1f10101e101010' +
  '0e11101711110f' + // CDEFG
  '1111111f111111' +
  '0e04040404040e' +
  '0702020202120c' +
  '11121418141211' +
  '1010101010101f' + // HIJKL
  '111b1515111111' +
  '11111915131111' +
  '0e11111111110e' +
  '1e11111e101010' +
  '0e11111115120d' + // MNOPQ
  '1e11111e141211' +
  '0f10100e01011e' +
  '1f040404040404' +
  '1111111111110e' +
  '11111111110a04' + // RSTUV
  '1111111515150a' +
  '11110a040a1111' +
  '11110a04040404' +
  '1f01020408101f' +
  '0e08080808080e' + // WXYZ[
  '00100804020100' +
  '0e02020202020e' +
  '040a1100000000' +
  '0000000000001f' +
  '08040200000000' + // \]^_`
  '00000e010f110f' +
  '1010161911111e' +
  '00000e1010110e' +
  '01010d1311110f' +
  '00000e111f100e' + // abcde
  '0609081c080808' +
  '0f11110f01010e' +
  '10101619111111' +
  '04000c0404040e' +
  '0200060202120c' + // fghij
  '10101214181412' +
  '0c04040404040e' +
  '00001a15151111' +
  '00001619111111' +
  '00000e1111110e' + // klmno
  '1e11111e101010' +
  '0f11110f010101' +
  '00001619101010' +
  '00000e100e011e' +
  '08081c08080906' + // pqrst
  '0000111111130d' +
  '00001111110a04' +
  '0000111115150a' +
  '0000110a040a11' +
  '1111110f01010e' + // uvwxy
  '00001f0204081f' +
  '02040408040402' +
  '04040404040404' +
  '08040402040408' +
  '00000815020000' + // z{|}~
  '';
const GLYPH_W = 5,
  GLYPH_H = 7,
  ADVANCE = 6,
  DESCENDERS = 'gpqy';

function glyphRows(ch: string): number[] {
  let code = ch.charCodeAt(0);
  if (code < 32 || code > 126) code = 63; // '?'
  const off = (code - 32) * 14;
  return Array.from({ length: GLYPH_H }, (_, r) =>
    parseInt(FONT_HEX.slice(off + 2 * r, off + 2 * r + 2), 16),
  );
}

export type RGB = readonly [number, number, number];

/** An RGB raster with clipping; (0, 0) is the top-left pixel (src/vis draws on it too). */
export class Canvas {
  readonly data: Uint8Array;
  clip = { x0: 0, y0: 0, x1: 0, y1: 0 }; // drawing is limited to [x0, x1) x [y0, y1)

  constructor(
    readonly width: number,
    readonly height: number,
    background: RGB = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.data.set(background, 3 * i);
    this.resetClip();
  }

  resetClip(): void {
    this.clip = { x0: 0, y0: 0, x1: this.width, y1: this.height };
  }

  pixel(x: number, y: number, c: RGB): void {
    x = Math.round(x);
    y = Math.round(y);
    const { x0, y0, x1, y1 } = this.clip;
    if (x < x0 || x >= x1 || y < y0 || y >= y1) return;
    this.data.set(c, 3 * (y * this.width + x));
  }

  rect(x: number, y: number, w: number, h: number, c: RGB): void {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.pixel(x + i, y + j, c);
  }

  /** A line of the given thickness (a square brush stamped along Bresenham's steps). */
  line(xa: number, ya: number, xb: number, yb: number, c: RGB, thickness = 1): void {
    let x = Math.round(xa),
      y = Math.round(ya);
    const x2 = Math.round(xb),
      y2 = Math.round(yb);
    const dx = Math.abs(x2 - x),
      dy = -Math.abs(y2 - y),
      sx = x < x2 ? 1 : -1,
      sy = y < y2 ? 1 : -1;
    const lo = -Math.floor((thickness - 1) / 2);
    let err = dx + dy;
    for (;;) {
      this.rect(x + lo, y + lo, thickness, thickness, c);
      if (x === x2 && y === y2) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y += sy;
      }
    }
  }

  /** Text with its top-left corner at (x, y); `vertical` runs bottom-to-top (for a y label). */
  text(x: number, y: number, s: string, c: RGB, scale = 1, vertical = false): void {
    [...s].forEach((ch, k) => {
      const rows = glyphRows(ch),
        drop = DESCENDERS.includes(ch) ? 2 : 0;
      for (let row = 0; row < GLYPH_H; row++) {
        const r = row + drop;
        for (let col = 0; col < GLYPH_W; col++) {
          if (!(rows[row] & (16 >> col))) continue;
          const gx = k * ADVANCE + col; // along the text
          if (vertical) this.rect(x + r * scale, y - (gx + 1) * scale, scale, scale, c);
          else this.rect(x + gx * scale, y + r * scale, scale, scale, c);
        }
      }
    });
  }
}

/** Height in pixels of a line of text at scale 1 (descenders excluded). */
export const TEXT_HEIGHT = GLYPH_H;

/** Width in pixels of s drawn at `scale`. */
export const textWidth = (s: string, scale: number) =>
  s.length === 0 ? 0 : (s.length * ADVANCE - 1) * scale;
