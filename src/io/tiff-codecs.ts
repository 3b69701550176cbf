// Strip/tile decompressors for TIFF: LZW (5), Adobe and old deflate (8, 32946), PackBits (32773),
// and the horizontal-differencing predictor (317 = 2). Deflate uses node:zlib (native); LZW and
// PackBits are short enough to own (see tiff.ts for why no npm decoder is used).
import { inflateSync } from 'node:zlib';

/** Thrown for corrupt compressed data; the reader turns it into an InputFileError naming the file. */
export class CodecError extends Error {}

export const COMPRESSION_NAMES: Record<number, string> = {
  1: 'none',
  5: 'LZW',
  8: 'deflate (Adobe)',
  32946: 'deflate (old)',
  32773: 'PackBits',
};

/** Decompresses one strip or tile; `expected` bytes is the size it must have at least. */
export function decompress(data: Uint8Array, compression: number, expected: number): Uint8Array {
  switch (compression) {
    case 1:
      return data;
    case 8:
    case 32946:
      try {
        // maxOutputLength stops a deflate bomb: a strip never holds more than `expected` bytes.
        return inflateSync(data, { maxOutputLength: Math.max(expected, 1) });
      } catch (err) {
        throw new CodecError(`deflate data is corrupt (${(err as Error).message})`);
      }
    case 5:
      return lzwDecode(data, expected);
    case 32773:
      return packBitsDecode(data, expected);
    default:
      throw new CodecError(`compression ${compression} is not supported`);
  }
}

/** PackBits (Apple run-length): header byte n ≥ 0 copies n+1 bytes, n < 0 repeats the next byte 1−n times. */
export function packBitsDecode(src: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  let i = 0;
  let o = 0;
  while (i < src.length && o < expected) {
    const n = (src[i++]! << 24) >> 24;
    if (n >= 0) {
      const len = Math.min(n + 1, src.length - i, expected - o);
      out.set(src.subarray(i, i + len), o);
      i += n + 1;
      o += len;
    } else if (n !== -128) {
      const len = Math.min(1 - n, expected - o);
      out.fill(src[i++] ?? 0, o, o + len);
      o += len;
    }
  }
  return out.subarray(0, o);
}

/**
 * TIFF LZW (MSB-first codes, 9–12 bits, ClearCode 256, EOI 257, the "early change" by one code
 * that libtiff writers use). Output stops at `expected` bytes, so a corrupt stream cannot grow
 * memory without bound.
 */
export function lzwDecode(src: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  // Dictionary as (prefix code, last byte, length) — strings are rebuilt backwards into out.
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const length = new Int32Array(4096);
  for (let c = 0; c < 256; c++) {
    prefix[c] = -1;
    suffix[c] = c;
    length[c] = 1;
  }
  let next = 258;
  let width = 9;
  let bitPos = 0;
  const totalBits = src.length * 8;
  let o = 0;
  let old = -1;
  const readCode = (): number => {
    if (bitPos + width > totalBits) return 257;
    let code = 0;
    for (let k = 0; k < width; k++) {
      const bit = (src[(bitPos + k) >> 3]! >> (7 - ((bitPos + k) & 7))) & 1;
      code = (code << 1) | bit;
    }
    bitPos += width;
    return code;
  };
  const firstByte = (code: number): number => {
    let c = code;
    while (prefix[c]! >= 0) c = prefix[c]!;
    return suffix[c]!;
  };
  const emit = (code: number): void => {
    const len = length[code]!;
    let c = code;
    for (let k = len - 1; k >= 0; k--) {
      if (o + k < expected) out[o + k] = suffix[c]!;
      c = prefix[c]!;
    }
    o += len;
  };
  while (o < expected) {
    const code = readCode();
    if (code === 257) break;
    if (code === 256) {
      next = 258;
      width = 9;
      old = -1;
      continue;
    }
    if (old < 0) {
      if (code > 255) throw new CodecError(`LZW data is corrupt (first code ${code})`);
      emit(code);
      old = code;
      continue;
    }
    if (code < next) {
      if (next < 4096) {
        prefix[next] = old;
        suffix[next] = firstByte(code);
        length[next] = length[old]! + 1;
        next++;
      }
      emit(code);
    } else if (code === next && next < 4096) {
      prefix[next] = old;
      suffix[next] = firstByte(old);
      length[next] = length[old]! + 1;
      next++;
      emit(code);
    } else {
      throw new CodecError(`LZW data is corrupt (code ${code} before it was defined)`);
    }
    old = code;
    if (next + 1 >= 1 << width && width < 12) width++;
  }
  return out.subarray(0, Math.min(o, expected));
}

/** Undoes horizontal differencing in place, row by row, on samples of `bytes` bytes (machine order). */
export function undoPredictor(buf: Uint8Array, width: number, rows: number, bytes: number): void {
  const view =
    bytes === 1
      ? buf
      : bytes === 2
        ? new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength >> 1)
        : new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2);
  // Typed arrays wrap on store, giving the modulo-2^bits sums the predictor specifies.
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    for (let x = 1; x < width; x++) view[base + x] = view[base + x]! + view[base + x - 1]!;
  }
}
