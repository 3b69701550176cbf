// TIFF read/write for grayscale stacks: 8/16/32-bit integers and float32, one sample per pixel,
// single and multi-page, both byte orders, classic and BigTIFF, strips or tiles, compressions
// none / LZW / deflate / PackBits with the horizontal predictor, ImageJ hyperstack metadata.
//
// Why our own code and not an npm decoder: of the maintained ones, `tiff` 7.1 (image-js) has no
// BigTIFF, no PackBits and no encoder; `geotiff` 3.0 is asynchronous only (Promise per page, eight
// dependencies, a worker pool) and cannot write multi-page 16-bit stacks; `utif2` 4.1 encodes only
// 8-bit RGBA. None writes ImageJ hyperstacks. Reading an uncompressed stack must also go straight
// from the strip offsets into the output array (one positioned read per contiguous run), which a
// generic decoder that first loads the whole file into memory cannot do.
import { closeSync } from 'node:fs';
import { InputFileError, ParameterError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { MAX_ELEMENTS, openInput, readExactly, swapBytes } from './binary.js';
import { COMPRESSION_NAMES, CodecError, decompress, undoPredictor } from './tiff-codecs.js';
import { buildImageJDescription, type ImageJMeta, parseImageJDescription, unitToMicrons } from './tiff-imagej.js';

export type TiffDtype = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32';
export type TiffData = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array;

export interface TiffInfo {
  width: number;
  height: number;
  pages: number;
  dtype: TiffDtype;
  littleEndian: boolean;
  bigTiff: boolean;
  compression: string;
  /** ImageDescription of the first page ('' when none). */
  description: string;
  /** ImageJ hyperstack axes and units, when the file was written by ImageJ/Fiji (or rdl, tifffile). */
  imagej: ImageJMeta | null;
  /** Pixel spacing in µm (z from ImageJ's spacing, else null); null when the file has no resolution. */
  pixelSizeUm: { x: number; y: number; z: number | null } | null;
}

const ARRAYS: Record<TiffDtype, { bytes: number; make: (b: ArrayBuffer) => TiffData; format: number }> = {
  uint8: { bytes: 1, make: (b) => new Uint8Array(b), format: 1 },
  int8: { bytes: 1, make: (b) => new Int8Array(b), format: 2 },
  uint16: { bytes: 2, make: (b) => new Uint16Array(b), format: 1 },
  int16: { bytes: 2, make: (b) => new Int16Array(b), format: 2 },
  uint32: { bytes: 4, make: (b) => new Uint32Array(b), format: 1 },
  int32: { bytes: 4, make: (b) => new Int32Array(b), format: 2 },
  float32: { bytes: 4, make: (b) => new Float32Array(b), format: 3 },
};

/** Bytes per value of each TIFF field type. */
const TYPE_SIZE: Record<number, number> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  13: 4,
  16: 8,
  17: 8,
  18: 8,
};
const MAX_PAGES = 10_000_000;

interface Page {
  width: number;
  height: number;
  dtype: TiffDtype;
  compression: number;
  predictor: number;
  /** Rows per strip, or tile height; tileWidth is 0 for strips. */
  blockRows: number;
  tileWidth: number;
  offsets: number[];
  counts: number[];
  description: string;
  xres: number | null;
  yres: number | null;
  resUnit: number;
}

/** An open TIFF: its pages parsed and checked; pixels read on demand. */
export class TiffReader {
  private fd: number | null;
  private size = 0;
  readonly littleEndian: boolean;
  readonly bigTiff: boolean;
  readonly pages: Page[] = [];
  readonly info: TiffInfo;

  constructor(readonly path: string) {
    const { fd, size } = openInput(path);
    this.fd = fd;
    this.size = size;
    try {
      if (size < 8) throw this.bad(`file is ${size} bytes, too short for a TIFF header`);
      const h = this.bytes(0, Math.min(16, size));
      const order = String.fromCharCode(h[0]!, h[1]!);
      if (order !== 'II' && order !== 'MM') throw this.bad('not a TIFF file (no II/MM byte-order mark)');
      this.littleEndian = order === 'II';
      const v = new DataView(h.buffer, h.byteOffset, h.byteLength);
      const magic = v.getUint16(2, this.littleEndian);
      if (magic !== 42 && magic !== 43) throw this.bad(`not a TIFF file (magic ${magic}, expected 42 or 43)`);
      this.bigTiff = magic === 43;
      if (this.bigTiff && (size < 16 || v.getUint16(4, this.littleEndian) !== 8))
        throw this.bad('corrupt BigTIFF header');
      let ifd = this.bigTiff ? Number(v.getBigUint64(8, this.littleEndian)) : v.getUint32(4, this.littleEndian);
      const seen = new Set<number>();
      while (ifd !== 0) {
        if (seen.has(ifd)) throw this.bad(`IFD chain loops back to byte ${ifd}`);
        if (seen.size >= MAX_PAGES) throw this.bad(`more than ${MAX_PAGES} pages`);
        seen.add(ifd);
        const { page, next } = this.readIfd(ifd, seen.size - 1);
        this.pages.push(page);
        ifd = next;
      }
      if (this.pages.length === 0) throw this.bad('the file has no images');
      this.expandImageJContiguous();
      const p0 = this.pages[0]!;
      this.pages.forEach((p, i) => {
        if (p.width !== p0.width || p.height !== p0.height || p.dtype !== p0.dtype) {
          throw this.bad(
            `page ${i} is ${p.width}×${p.height} ${p.dtype}, page 0 is ${p0.width}×${p0.height} ${p0.dtype}; only stacks of equal pages are supported`,
          );
        }
      });
      this.info = this.describe();
    } catch (err) {
      closeSync(fd);
      this.fd = null;
      throw err;
    }
  }

  private bad(problem: string): InputFileError {
    return new InputFileError(this.path, problem);
  }

  private bytes(offset: number, length: number): Uint8Array {
    if (
      !(
        Number.isSafeInteger(offset) &&
        Number.isSafeInteger(length) &&
        offset >= 0 &&
        length >= 0 &&
        offset + length <= this.size
      )
    ) {
      throw this.bad(`data at bytes ${offset}–${offset + length} lies beyond the end of the file (${this.size} bytes)`);
    }
    const b = new Uint8Array(length);
    readExactly(this.fd!, b, offset, this.path);
    return b;
  }

  private readIfd(offset: number, index: number): { page: Page; next: number } {
    const le = this.littleEndian;
    const big = this.bigTiff;
    const countBytes = big ? 8 : 2;
    const cv = new DataView(this.bytes(offset, countBytes).buffer);
    const n = big ? Number(cv.getBigUint64(0, le)) : cv.getUint16(0, le);
    const entrySize = big ? 20 : 12;
    if (n === 0 || n > 4096) throw this.bad(`page ${index}: IFD at byte ${offset} has ${n} entries`);
    const body = this.bytes(offset + countBytes, n * entrySize + (big ? 8 : 4));
    const v = new DataView(body.buffer);
    const tags = new Map<number, { type: number; count: number; at: number; inline: Uint8Array | null }>();
    for (let k = 0; k < n; k++) {
      const e = k * entrySize;
      const tag = v.getUint16(e, le);
      const type = v.getUint16(e + 2, le);
      const count = big ? Number(v.getBigUint64(e + 4, le)) : v.getUint32(e + 4, le);
      const valueAt = e + (big ? 12 : 8);
      const size = (TYPE_SIZE[type] ?? 0) * count;
      if (size === 0) continue; // unknown field type: skip, as the TIFF spec asks readers to
      if (size > this.size)
        throw this.bad(`page ${index}: tag ${tag} claims ${count} values, more than the file holds`);
      const inlineBytes = big ? 8 : 4;
      const at = size <= inlineBytes ? -1 : big ? Number(v.getBigUint64(valueAt, le)) : v.getUint32(valueAt, le);
      tags.set(tag, { type, count, at, inline: at < 0 ? body.slice(valueAt, valueAt + inlineBytes) : null });
    }
    const next = big ? Number(v.getBigUint64(n * entrySize, le)) : v.getUint32(n * entrySize, le);
    const values = (tag: number): number[] | null => {
      const t = tags.get(tag);
      if (!t) return null;
      const sz = TYPE_SIZE[t.type]!;
      const raw = t.inline ?? this.bytes(t.at, sz * t.count);
      const d = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const out: number[] = new Array(t.count);
      for (let i = 0; i < t.count; i++) {
        const o = i * sz;
        switch (t.type) {
          case 3:
            out[i] = d.getUint16(o, le);
            break;
          case 8:
            out[i] = d.getInt16(o, le);
            break;
          case 4:
          case 13:
            out[i] = d.getUint32(o, le);
            break;
          case 9:
            out[i] = d.getInt32(o, le);
            break;
          case 5:
            out[i] = d.getUint32(o, le) / d.getUint32(o + 4, le);
            break;
          case 10:
            out[i] = d.getInt32(o, le) / d.getInt32(o + 4, le);
            break;
          case 11:
            out[i] = d.getFloat32(o, le);
            break;
          case 12:
            out[i] = d.getFloat64(o, le);
            break;
          case 16:
          case 18:
            out[i] = Number(d.getBigUint64(o, le));
            break;
          case 17:
            out[i] = Number(d.getBigInt64(o, le));
            break;
          default:
            out[i] = d.getUint8(o);
        }
      }
      return out;
    };
    const one = (tag: number, dflt: number) => values(tag)?.[0] ?? dflt;
    const width = one(256, 0);
    const height = one(257, 0);
    if (!(width > 0 && height > 0 && width <= 1 << 24 && height <= 1 << 24)) {
      throw this.bad(`page ${index}: invalid image size ${width}×${height}`);
    }
    const spp = one(277, 1);
    if (spp !== 1)
      throw this.bad(
        `page ${index}: ${spp} samples per pixel (RGB or multi-sample TIFF) is not supported; save as grayscale`,
      );
    const bits = values(258) ?? [1];
    const fmt = one(339, 1);
    const dtype = dtypeOf(bits[0]!, fmt);
    if (!dtype)
      throw this.bad(
        `page ${index}: ${bits[0]}-bit sample format ${fmt} is not supported (8/16/32-bit integer or 32-bit float)`,
      );
    const compression = one(259, 1);
    if (!(compression in COMPRESSION_NAMES)) {
      throw this.bad(`page ${index}: compression ${compression} is not supported (none, LZW, deflate, PackBits)`);
    }
    const predictor = one(317, 1);
    if (predictor !== 1 && predictor !== 2)
      throw this.bad(`page ${index}: predictor ${predictor} is not supported (1 or 2)`);
    const tileWidth = one(322, 0);
    const blockRows = tileWidth ? one(323, 0) : Math.min(one(278, height), height);
    const offsets = values(tileWidth ? 324 : 273);
    const counts = values(tileWidth ? 325 : 279);
    if (!offsets || !counts || offsets.length !== counts.length)
      throw this.bad(`page ${index}: missing or inconsistent strip/tile offsets`);
    // A field of the wrong type (FLOAT, RATIONAL) can hold fractions: offsets and sizes must be whole.
    const whole = (x: number) => Number.isSafeInteger(x) && x >= 0;
    if (![width, height, tileWidth, blockRows].every(whole) || !offsets.every(whole) || !counts.every(whole)) {
      throw this.bad(`page ${index}: non-integer image size, strip or tile field`);
    }
    if (!(blockRows > 0) || (tileWidth && tileWidth % 16 !== 0))
      throw this.bad(`page ${index}: invalid strip or tile size`);
    const blocks = tileWidth
      ? Math.ceil(width / tileWidth) * Math.ceil(height / blockRows)
      : Math.ceil(height / blockRows);
    if (offsets.length < blocks) throw this.bad(`page ${index}: ${offsets.length} strips/tiles, expected ${blocks}`);
    const descTag = tags.get(270);
    let description = '';
    if (descTag) {
      const raw =
        descTag.inline?.subarray(0, descTag.count) ?? this.bytes(descTag.at, Math.min(descTag.count, 1 << 20));
      description = Buffer.from(raw).toString('utf8').replace(/\0+$/, '');
    }
    const page: Page = {
      width,
      height,
      dtype,
      compression,
      predictor,
      blockRows,
      tileWidth,
      offsets,
      counts,
      description,
      xres: values(282)?.[0] ?? null,
      yres: values(283)?.[0] ?? null,
      resUnit: one(296, 2),
    };
    return { page, next };
  }

  /**
   * ImageJ writes stacks over 4 GB as a classic TIFF with one IFD and the pages stored one after
   * another (its description says images=N): synthesize those pages.
   */
  private expandImageJContiguous(): void {
    const p0 = this.pages[0]!;
    const meta = parseImageJDescription(p0.description);
    if (!meta || this.pages.length !== 1 || meta.images <= 1 || p0.compression !== 1 || p0.tileWidth) return;
    const pageBytes = p0.width * p0.height * ARRAYS[p0.dtype].bytes;
    const start = p0.offsets[0]!;
    // Only when the strips of page 0 are contiguous and all N pages fit in the file.
    const contiguous = p0.offsets.every((o, i) => o === start + p0.counts.slice(0, i).reduce((a, b) => a + b, 0));
    if (!contiguous || start + pageBytes * meta.images > this.size) return;
    for (let i = 1; i < meta.images; i++) {
      this.pages.push({ ...p0, offsets: [start + i * pageBytes], counts: [pageBytes], blockRows: p0.height });
    }
  }

  private describe(): TiffInfo {
    const p0 = this.pages[0]!;
    const imagej = parseImageJDescription(p0.description);
    let pixelSizeUm: TiffInfo['pixelSizeUm'] = null;
    if (p0.xres && p0.yres && p0.xres > 0 && p0.yres > 0 && Number.isFinite(p0.xres) && Number.isFinite(p0.yres)) {
      // Resolution is pixels per unit: ImageJ's unit when given, else ResolutionUnit (2 inch, 3 cm).
      const unitUm = imagej?.unit
        ? unitToMicrons(imagej.unit)
        : p0.resUnit === 3
          ? 1e4
          : p0.resUnit === 2
            ? 25400
            : null;
      if (unitUm !== null) {
        const z =
          imagej?.spacing !== undefined && imagej.unit ? imagej.spacing * (unitToMicrons(imagej.unit) ?? 1) : null;
        pixelSizeUm = { x: unitUm / p0.xres, y: unitUm / p0.yres, z };
      }
    }
    return {
      width: p0.width,
      height: p0.height,
      pages: this.pages.length,
      dtype: p0.dtype,
      littleEndian: this.littleEndian,
      bigTiff: this.bigTiff,
      compression: COMPRESSION_NAMES[p0.compression]!,
      description: p0.description,
      imagej,
      pixelSizeUm,
    };
  }

  /** Reads pages [start, end) into one typed array, row-major [page][y][x]. */
  read(start = 0, end = this.pages.length): TiffData {
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end <= this.pages.length && start < end)) {
      throw new ParameterError('pages', `[start, end) with 0 ≤ start < end ≤ ${this.pages.length}`, [start, end]);
    }
    if (this.fd === null) throw this.bad('reader is closed');
    const { width, height, dtype } = this.info;
    const bytesPer = ARRAYS[dtype].bytes;
    const pageBytes = width * height * bytesPer;
    if (width * height * (end - start) > MAX_ELEMENTS) {
      throw this.bad(`${width}×${height}×${end - start} values do not fit one array; read fewer pages at a time`);
    }
    for (let i = start; i < end; i++) this.checkPageData(this.pages[i]!, i, pageBytes);
    const out = new Uint8Array(pageBytes * (end - start));
    // Uncompressed strips: gather (file offset, output offset, length) runs and merge neighbours,
    // so a plainly written stack is read with a few large positioned reads.
    const runs: Array<[number, number, number]> = [];
    for (let i = start; i < end; i++) {
      const p = this.pages[i]!;
      const base = (i - start) * pageBytes;
      if (p.compression === 1 && !p.tileWidth && p.predictor === 1) {
        const stripBytes = p.blockRows * width * bytesPer;
        for (let s = 0; s * p.blockRows < height; s++) {
          const len = Math.min(stripBytes, pageBytes - s * stripBytes);
          if (p.counts[s]! < len) throw this.bad(`page ${i} strip ${s} holds ${p.counts[s]} bytes, expected ${len}`);
          const last = runs[runs.length - 1];
          if (last && last[0] + last[2] === p.offsets[s] && last[1] + last[2] === base + s * stripBytes) last[2] += len;
          else runs.push([p.offsets[s]!, base + s * stripBytes, len]);
        }
      } else {
        this.decodePage(p, i, out.subarray(base, base + pageBytes), bytesPer);
      }
    }
    for (const [fileOff, outOff, len] of runs) {
      if (fileOff + len > this.size)
        throw this.bad(
          `image data at bytes ${fileOff}–${fileOff + len} lies beyond the end of the file (${this.size} bytes; truncated?)`,
        );
      readExactly(this.fd, out.subarray(outOff, outOff + len), fileOff, this.path);
      if (!this.littleEndian) swapBytes(out.subarray(outOff, outOff + len), bytesPer);
    }
    return ARRAYS[dtype].make(out.buffer);
  }

  /**
   * Checks, before any allocation, that a page's strips or tiles lie inside the file and could
   * hold the page: uncompressed, byte for byte; compressed, within deflate's maximum ratio
   * (1032:1, the highest of the supported codecs), so a corrupt header cannot make us allocate
   * gigabytes for a small file.
   */
  private checkPageData(p: Page, index: number, pageBytes: number): void {
    const bw = p.tileWidth || p.width;
    const nBlocks = Math.ceil(p.width / bw) * Math.ceil(p.height / p.blockRows);
    if (p.tileWidth && p.tileWidth * p.blockRows * (pageBytes / (p.width * p.height)) > 2 ** 28) {
      throw this.bad(`page ${index}: tiles of ${p.tileWidth}×${p.blockRows} are implausibly large`);
    }
    let stored = 0;
    for (let b = 0; b < nBlocks; b++) {
      const off = p.offsets[b]!;
      const count = p.counts[b]!;
      if (!(off >= 0 && count >= 0 && off + count <= this.size)) {
        throw this.bad(
          `page ${index}: image data at bytes ${off}–${off + count} lies beyond the end of the file (${this.size} bytes; truncated?)`,
        );
      }
      stored += count;
    }
    const limit = p.compression === 1 ? stored : stored * 1100 + 4096;
    if (limit < pageBytes) {
      throw this.bad(
        `page ${index}: ${stored} stored bytes cannot hold a ${p.width}×${p.height} ${p.dtype} image (${pageBytes} bytes)`,
      );
    }
  }

  private decodePage(p: Page, index: number, dst: Uint8Array, bytesPer: number): void {
    const { width, height } = p;
    const bw = p.tileWidth || width;
    const blocksAcross = Math.ceil(width / bw);
    const blockBytes = bw * p.blockRows * bytesPer;
    const nBlocks = blocksAcross * Math.ceil(height / p.blockRows);
    // One block at a time, in an aligned scratch buffer (typed views need aligned offsets).
    const scratch = new Uint8Array(blockBytes);
    for (let b = 0; b < nBlocks; b++) {
      const rows = Math.min(p.blockRows, height - Math.floor(b / blocksAcross) * p.blockRows);
      const expected = p.tileWidth ? blockBytes : bw * rows * bytesPer;
      const raw = this.bytes(p.offsets[b]!, p.counts[b]!);
      let dec: Uint8Array;
      try {
        dec = decompress(raw, p.compression, expected);
      } catch (err) {
        if (err instanceof CodecError) throw this.bad(`page ${index} block ${b}: ${err.message}`);
        throw err;
      }
      if (dec.byteLength < expected)
        throw this.bad(`page ${index} block ${b} decodes to ${dec.byteLength} bytes, expected ${expected}`);
      scratch.set(dec.subarray(0, expected));
      const block = scratch.subarray(0, expected);
      if (!this.littleEndian) swapBytes(block, bytesPer);
      if (p.predictor === 2) undoPredictor(block, bw, rows, bytesPer);
      const y0 = Math.floor(b / blocksAcross) * p.blockRows;
      const x0 = (b % blocksAcross) * bw;
      const copyW = Math.min(bw, width - x0) * bytesPer;
      for (let r = 0; r < rows && y0 + r < height; r++) {
        const from = r * bw * bytesPer;
        dst.set(block.subarray(from, from + copyW), ((y0 + r) * width + x0) * bytesPer);
      }
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function dtypeOf(bits: number, format: number): TiffDtype | null {
  if (format === 3) return bits === 32 ? 'float32' : null;
  const signed = format === 2;
  if (format !== 1 && format !== 2 && format !== 4) return null; // 4: "undefined", read as unsigned
  if (bits === 8) return signed ? 'int8' : 'uint8';
  if (bits === 16) return signed ? 'int16' : 'uint16';
  if (bits === 32) return signed ? 'int32' : 'uint32';
  return null;
}

export function dtypeOfArray(data: TiffData): TiffDtype {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Int32Array) return 'int32';
  return 'float32';
}

export function readTiffInfo(path: string): TiffInfo {
  const r = new TiffReader(path);
  r.close();
  return r.info;
}

/** Reads a TIFF stack, or pages [start, end) of it. */
export function readTiff(path: string, opts: { pages?: [number, number] } = {}): { info: TiffInfo; data: TiffData } {
  const r = new TiffReader(path);
  try {
    const [s, e] = opts.pages ?? [0, r.info.pages];
    return { info: r.info, data: r.read(s, e) };
  } finally {
    r.close();
  }
}

export interface WriteTiffOptions {
  /** Pixel spacing in µm (z written as ImageJ's spacing). */
  pixelSizeUm?: { x: number; y: number; z?: number | null };
  /**
   * ImageJ hyperstack axes; channels·slices·frames must equal the page count, pages ordered as
   * ImageJ stores them (channel fastest, then slice, then frame: TZCYX). Default: all slices.
   */
  axes?: { channels?: number; slices?: number; frames?: number };
  /** Force BigTIFF; by default it is used only when the file would pass 4 GB. */
  bigTiff?: boolean;
  /** Files never to overwrite. */
  inputs?: string[];
}

/**
 * Writes an uncompressed little-endian grayscale stack with ImageJ hyperstack metadata, one strip
 * per page (as ImageJ does), so Fiji and napari open it with its axes and pixel size.
 */
export function writeTiff(
  path: string,
  data: TiffData,
  dims: { width: number; height: number; pages: number },
  opts: WriteTiffOptions = {},
): void {
  const { width, height, pages } = dims;
  for (const [k, n] of Object.entries(dims)) {
    if (!(Number.isInteger(n) && n > 0 && n < 2 ** 31)) throw new ParameterError(`dims.${k}`, 'a positive integer', n);
  }
  if (data.length !== width * height * pages) {
    throw new ParameterError('data.length', `${width * height * pages} for ${width}×${height}×${pages}`, data.length);
  }
  const dtype = dtypeOfArray(data);
  const bytesPer = ARRAYS[dtype].bytes;
  const pageBytes = width * height * bytesPer;
  if (pageBytes >= 2 ** 32) throw new ParameterError('dims', 'pages under 4 GB each', `${pageBytes} bytes per page`);
  const channels = opts.axes?.channels ?? 1;
  const frames = opts.axes?.frames ?? 1;
  const slices = opts.axes?.slices ?? pages / (channels * frames);
  if (channels * slices * frames !== pages || !Number.isInteger(slices)) {
    throw new ParameterError('axes', `channels·slices·frames = ${pages} pages`, { channels, slices, frames });
  }
  const px = opts.pixelSizeUm;
  const description = buildImageJDescription({
    images: pages,
    channels,
    slices,
    frames,
    unit: px ? 'micron' : undefined,
    spacing: px?.z ?? undefined,
    range: range(data),
  });
  const descBytes = Buffer.from(`${description}\0`, 'utf8');
  const dataBytes = pageBytes * pages;
  const big = opts.bigTiff ?? 8 + dataBytes + descBytes.length + pages * 300 >= 2 ** 32;
  const le = true;
  const headerLen = big ? 16 : 8;
  // Layout: header | description | page data (contiguous) | IFDs (each followed by its rationals).
  const descAt = headerLen;
  const dataAt = descAt + descBytes.length + (descBytes.length & 1);
  const ifdAt = dataAt + dataBytes;
  const entrySize = big ? 20 : 12;
  const nTags = 15;
  const ifdLen = (big ? 8 : 2) + nTags * entrySize + (big ? 8 : 4);
  const ifdStride = ifdLen + 16; // + XResolution and YResolution rationals
  const header = new Uint8Array(dataAt);
  const hv = new DataView(header.buffer);
  header.set([0x49, 0x49]);
  if (big) {
    hv.setUint16(2, 43, le);
    hv.setUint16(4, 8, le);
    hv.setBigUint64(8, BigInt(ifdAt), le);
  } else {
    hv.setUint16(2, 42, le);
    hv.setUint32(4, ifdAt, le);
  }
  header.set(descBytes, descAt);
  const ifds = new Uint8Array(ifdStride * pages);
  const iv = new DataView(ifds.buffer);
  // Resolution in pixels per micron as a rational with a 1e6 denominator (ImageJ reads it back to ~1e-6).
  const ratio = (um: number | undefined): [number, number] => (um && um > 0 ? [Math.round(1e6 / um), 1e6] : [1, 1]);
  const [xn, xd] = ratio(px?.x);
  const [yn, yd] = ratio(px?.y);
  for (let p = 0; p < pages; p++) {
    const at = ifdAt + p * ifdStride;
    let o = p * ifdStride;
    const put = (v: number, size: number) => {
      if (size === 2) iv.setUint16(o, v, le);
      else if (size === 4) iv.setUint32(o, v, le);
      else iv.setBigUint64(o, BigInt(v), le);
      o += size;
    };
    put(nTags, big ? 8 : 2);
    const ratAt = at + ifdLen;
    const entry = (tag: number, type: number, count: number, value: number) => {
      put(tag, 2);
      put(type, 2);
      put(count, big ? 8 : 4);
      // SHORT values sit left-justified in the value field.
      const field = big ? 8 : 4;
      if (type === 3) {
        put(value, 2);
        put(0, field - 2);
      } else if (type === 16) put(value, 8);
      else {
        put(value, 4);
        if (big) put(0, 4);
      }
    };
    const longType = big ? 16 : 4;
    entry(254, 4, 1, 0); // NewSubfileType: full-resolution image
    entry(256, 4, 1, width);
    entry(257, 4, 1, height);
    entry(258, 3, 1, bytesPer * 8);
    entry(259, 3, 1, 1); // no compression
    entry(262, 3, 1, 1); // BlackIsZero
    entry(270, 2, p === 0 ? descBytes.length : 1, p === 0 ? descAt : 0);
    entry(273, longType, 1, dataAt + p * pageBytes);
    entry(277, 3, 1, 1);
    entry(278, 4, 1, height);
    entry(279, longType, 1, pageBytes);
    // RATIONAL is 8 bytes: an offset in classic TIFF, inline in BigTIFF.
    const rational = (tag: number, num: number, den: number, offset: number) => {
      if (!big) return entry(tag, 5, 1, offset);
      put(tag, 2);
      put(5, 2);
      put(1, 8);
      put(num, 4);
      put(den, 4);
    };
    rational(282, xn, xd, ratAt);
    rational(283, yn, yd, ratAt + 8);
    entry(296, 3, 1, 1); // ResolutionUnit none: ImageJ's unit= line says microns
    entry(339, 3, 1, ARRAYS[dtype].format);
    put(p + 1 < pages ? at + ifdStride : 0, big ? 8 : 4);
    iv.setUint32(o, xn, le);
    iv.setUint32(o + 4, xd, le);
    iv.setUint32(o + 8, yn, le);
    iv.setUint32(o + 12, yd, le);
  }
  writeFileAtomic(
    path,
    [header, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), ifds],
    opts.inputs ?? [],
  );
}

function range(data: TiffData): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return Number.isFinite(lo) && Number.isFinite(hi) ? [lo, hi] : [0, 0];
}
