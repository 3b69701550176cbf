// Small helpers shared by the file-format readers: positioned reads that never read past the
// end silently, byte swapping, float16 conversion and the finite-value check.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InputFileError } from '../errors.js';

/** Largest element count we allocate in one typed array (V8's limit on 64-bit Node 20 is 2³²−1 bytes for Buffers). */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/** Opens path for reading; a missing or unreadable file is an InputFileError, not a raw ENOENT. */
export function openInput(path: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new InputFileError(path, `cannot open: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const st = fstatSync(fd);
  if (st.isDirectory()) {
    closeSync(fd);
    throw new InputFileError(path, 'is a folder, not a file');
  }
  return { fd, size: st.size };
}

/** Reads exactly target.byteLength bytes at position (in chunks: readSync takes < 2 GiB per call). */
export function readExactly(fd: number, target: Uint8Array, position: number, path: string): void {
  const CHUNK = 1 << 26; // 64 MiB per call: large enough to amortize the syscall, small enough to stay cache-friendly
  let done = 0;
  while (done < target.byteLength) {
    const n = readSync(fd, target, done, Math.min(CHUNK, target.byteLength - done), position + done);
    if (n === 0)
      throw new InputFileError(
        path,
        `file ends at byte ${position + done}, expected ${target.byteLength - done} more bytes`,
      );
    done += n;
  }
}

/** Reverses the byte order of each element of `bytesPer` bytes, in place. */
export function swapBytes(buf: Uint8Array, bytesPer: number): void {
  if (bytesPer === 2) {
    for (let i = 0; i + 1 < buf.length; i += 2) {
      const a = buf[i]!;
      buf[i] = buf[i + 1]!;
      buf[i + 1] = a;
    }
  } else if (bytesPer === 4) {
    for (let i = 0; i + 3 < buf.length; i += 4) {
      const a = buf[i]!;
      const b = buf[i + 1]!;
      buf[i] = buf[i + 3]!;
      buf[i + 1] = buf[i + 2]!;
      buf[i + 2] = b;
      buf[i + 3] = a;
    }
  } else if (bytesPer === 8) {
    for (let i = 0; i + 7 < buf.length; i += 8) {
      for (let k = 0; k < 4; k++) {
        const a = buf[i + k]!;
        buf[i + k] = buf[i + 7 - k]!;
        buf[i + 7 - k] = a;
      }
    }
  }
}

/** IEEE half (as uint16 bits) → float32 values. */
export function halfToFloat(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const h = src[i]!;
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    if (e === 0) out[i] = s * f * 2 ** -24;
    else if (e === 31) out[i] = f ? Number.NaN : s * Number.POSITIVE_INFINITY;
    else out[i] = s * (1 + f / 1024) * 2 ** (e - 15);
  }
  return out;
}

/** float32 values → IEEE half bits, rounding to nearest even; out-of-range values become ±Inf. */
export function floatToHalf(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < src.length; i++) {
    f32[0] = src[i]!;
    const x = u32[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 31) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let h = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && h & 1)) h++;
      out[i] = sign | h;
    } else {
      let h = (e << 10) | (mant >>> 13);
      const rem = mant & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // may carry into the exponent: correct rounding
      out[i] = sign | h;
    }
  }
  return out;
}

/**
 * Throws InputFileError when float data holds NaN or ±Inf — for callers (training, estimation)
 * that need finite values. Integer data is always finite.
 */
export function requireFinite(data: ArrayLike<number>, file: string): void {
  const i = firstNonFinite(data);
  if (i >= 0) throw new InputFileError(file, `element ${i} is ${data[i]}; finite values are required`);
}

/** Index of the first NaN or ±Inf of float data, else −1 (integer data is always finite). */
export function firstNonFinite(data: ArrayLike<number>): number {
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return -1;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return i;
  return -1;
}
