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
import { InputFileError, ParameterError, ShapeError } from '../errors.js';
import { AtomicFile } from './atomic.js';
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

type TypedArrayCtor = new (b: ArrayBuffer) => TiffData;
const ARRAYS: Record<TiffDtype, { bytes: number; type: TypedArrayCtor; format: number }> = {
  uint8: { bytes: 1, type: Uint8Array, format: 1 },
  int8: { bytes: 1, type: Int8Array, format: 2 },
  uint16: { bytes: 2, type: Uint16Array, format: 1 },
  int16: { bytes: 2, type: Int16Array, format: 2 },
  uint32: { bytes: 4, type: Uint32Array, format: 1 },
  int32: { bytes: 4, type: Int32Array, format: 2 },
  float32: { bytes: 4, type: Float32Array, format: 3 },
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
    // Uninitialized: strips and tiles cover every byte of every page (checked above), and zero-filling would cost as much as the read.
    const out = Buffer.allocUnsafeSlow(pageBytes * (end - start));
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
    return new ARRAYS[dtype].type(out.buffer);
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
   * ImageJ hyperstack axes (an input's TiffInfo.imagej fits); channels·slices·frames must equal
   * the page count, pages ordered as ImageJ stores them (channel fastest, then slice, then frame:
   * TZCYX). Default: all slices.
   */
  axes?: { channels?: number; slices?: number; frames?: number } | null;
  /** Force BigTIFF (or classic); by default BigTIFF is used only when the file would pass 4 GB. */
  bigTiff?: boolean;
  /** Files never to overwrite. */
  inputs?: string[];
}

/** Room for "min=…\nmax=…\n" in the description slot: a JS number prints in at most 25 characters. */
const RANGE_ROOM = 2 * (4 + 32 + 1);
const N_TAGS = 15;

/**
 * Writes an uncompressed little-endian grayscale stack with ImageJ hyperstack metadata, one strip
 * per page (as ImageJ does), so Fiji and napari open it with its axes and pixel size. Pages are
 * written as they come (memory ∝ one write() call) to a temporary file renamed over `path` at
 * commit. Layout: header | description slot | page data (contiguous) | IFDs (each followed by
 * its rationals). The description ends with the display range (min/max), known only at commit,
 * so a fixed NUL-padded slot is reserved for it. Open with openTiffWriter; writeTiff is the
 * one-call form.
 */
export class TiffWriter {
  private readonly file: AtomicFile;
  private readonly big: boolean;
  private readonly pageBytes: number;
  private readonly dataAt: number;
  private readonly meta: ImageJMeta;
  private lo = Number.POSITIVE_INFINITY;
  private hi = Number.NEGATIVE_INFINITY;
  private written = 0;

  /** See openTiffWriter. */
  constructor(
    readonly path: string,
    readonly dims: { width: number; height: number; pages: number },
    readonly dtype: TiffDtype,
    private readonly opts: WriteTiffOptions = {},
  ) {
    const { width, height, pages } = dims;
    for (const [k, n] of Object.entries(dims)) {
      if (!(Number.isInteger(n) && n > 0 && n < 2 ** 31))
        throw new ParameterError(`dims.${k}`, 'a positive integer', n);
    }
    if (!Object.hasOwn(ARRAYS, dtype)) throw new ParameterError('dtype', Object.keys(ARRAYS).join(', '), dtype);
    this.pageBytes = width * height * ARRAYS[dtype].bytes;
    if (this.pageBytes >= 2 ** 32) {
      throw new ParameterError('dims', 'pages under 4 GB each', `${this.pageBytes} bytes per page`);
    }
    const channels = opts.axes?.channels ?? 1;
    const frames = opts.axes?.frames ?? 1;
    const slices = opts.axes?.slices ?? pages / (channels * frames);
    if (channels * slices * frames !== pages || !Number.isInteger(slices)) {
      throw new ParameterError('axes', `channels·slices·frames = ${pages} pages`, { channels, slices, frames });
    }
    const px = opts.pixelSizeUm;
    this.meta = {
      images: pages,
      channels,
      slices,
      frames,
      unit: px ? 'micron' : undefined,
      spacing: px?.z ?? undefined,
    };
    const slot = Buffer.byteLength(buildImageJDescription(this.meta)) + RANGE_ROOM + 1; // + NUL
    const dataBytes = this.pageBytes * pages;
    this.big = opts.bigTiff ?? 8 + dataBytes + slot + pages * 300 >= 2 ** 32;
    this.dataAt = Math.ceil(((this.big ? 16 : 8) + slot) / 16) * 16; // page data 16-byte aligned
    const end = this.dataAt + dataBytes + pages * this.ifdStride();
    if (!this.big && end >= 2 ** 32) {
      // Classic TIFF offsets are 32-bit: past 4 GB they would wrap around silently.
      throw new ParameterError('bigTiff', `true for a ${end}-byte file (classic TIFF ends at 4 GB)`, false);
    }
    this.file = new AtomicFile(path, opts.inputs ?? []); // last: nothing to clean up if the checks above throw
  }

  /** Pages written so far. */
  get framesWritten(): number {
    return this.written;
  }

  /** Appends whole pages (row-major [page][y][x]) of the writer's dtype. */
  write(data: TiffData): void {
    const k = data.length / (this.dims.width * this.dims.height);
    if (!(Number.isInteger(k) && k > 0 && this.written + k <= this.dims.pages)) {
      throw new ParameterError(
        'data.length',
        `a multiple of ${this.dims.width}×${this.dims.height}, at most ${this.dims.pages - this.written} pages`,
        data.length,
      );
    }
    if (!(data instanceof ARRAYS[this.dtype].type)) {
      throw new ParameterError('data', `${ARRAYS[this.dtype].type.name} (${this.dtype})`, data.constructor.name);
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength); // little-endian, as the machine
    this.file.write(bytes, this.dataAt + this.written * this.pageBytes);
    let { lo, hi } = this;
    for (let i = 0; i < data.length; i++) {
      const x = data[i]!;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    this.lo = lo;
    this.hi = hi;
    this.written += k;
  }

  /** Fills in the description and writes the IFDs, then renames the file into place; all pages must be written. */
  commit(): void {
    const { pages } = this.dims;
    if (this.file.open && this.written !== pages) {
      this.abort();
      throw new ShapeError(`${this.path}: ${this.written} of ${pages} pages written; nothing was saved`);
    }
    const range: [number, number] = Number.isFinite(this.lo) && Number.isFinite(this.hi) ? [this.lo, this.hi] : [0, 0];
    const desc = Buffer.from(`${buildImageJDescription({ ...this.meta, range })}\0`, 'utf8');
    const headerLen = this.big ? 16 : 8;
    if (headerLen + desc.length > this.dataAt)
      throw new Error(`TIFF description of ${desc.length} bytes overflows its slot`);
    const head = new Uint8Array(this.dataAt); // zeros after the description: the NUL padding
    const hv = new DataView(head.buffer);
    const ifdAt = this.dataAt + this.pageBytes * pages;
    head.set([0x49, 0x49]);
    if (this.big) {
      hv.setUint16(2, 43, true);
      hv.setUint16(4, 8, true);
      hv.setBigUint64(8, BigInt(ifdAt), true);
    } else {
      hv.setUint16(2, 42, true);
      hv.setUint32(4, ifdAt, true);
    }
    head.set(desc, headerLen);
    this.file.write(head, 0);
    // IFDs in batches, so their memory does not grow with the page count either.
    const stride = this.ifdStride();
    const BATCH = 4096;
    for (let p = 0; p < pages; p += BATCH) {
      const n = Math.min(BATCH, pages - p);
      this.file.write(this.ifds(p, n, ifdAt, desc.length), ifdAt + p * stride);
    }
    this.file.commit();
  }

  /** Removes the temporary file; a no-op after commit or a first abort. */
  abort(): void {
    this.file.abort();
  }

  [Symbol.dispose](): void {
    this.abort();
  }

  private ifdLen(): number {
    return (this.big ? 8 : 2) + N_TAGS * (this.big ? 20 : 12) + (this.big ? 8 : 4);
  }

  private ifdStride(): number {
    return this.ifdLen() + 16; // + XResolution and YResolution rationals
  }

  /** IFDs of pages [first, first + count), for an IFD chain starting at ifdAt. */
  private ifds(first: number, count: number, ifdAt: number, descLen: number): Uint8Array {
    const { width, height, pages } = this.dims;
    const { big, pageBytes, dataAt } = this;
    const le = true;
    const ifdLen = this.ifdLen();
    const ifdStride = this.ifdStride();
    const out = new Uint8Array(ifdStride * count);
    const iv = new DataView(out.buffer);
    // Resolution in pixels per micron as a rational with a 1e6 denominator (ImageJ reads it back to ~1e-6).
    const ratio = (um: number | undefined): [number, number] => (um && um > 0 ? [Math.round(1e6 / um), 1e6] : [1, 1]);
    const px = this.opts.pixelSizeUm;
    const [xn, xd] = ratio(px?.x);
    const [yn, yd] = ratio(px?.y);
    const descAt = big ? 16 : 8;
    for (let p = first; p < first + count; p++) {
      const at = ifdAt + p * ifdStride;
      let o = (p - first) * ifdStride;
      const put = (v: number, size: number) => {
        if (size === 2) iv.setUint16(o, v, le);
        else if (size === 4) iv.setUint32(o, v, le);
        else iv.setBigUint64(o, BigInt(v), le);
        o += size;
      };
      put(N_TAGS, big ? 8 : 2);
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
      entry(258, 3, 1, ARRAYS[this.dtype].bytes * 8);
      entry(259, 3, 1, 1); // no compression
      entry(262, 3, 1, 1); // BlackIsZero
      entry(270, 2, p === 0 ? descLen : 1, p === 0 ? descAt : 0); // the string and its NUL, not the padding
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
      entry(339, 3, 1, ARRAYS[this.dtype].format);
      put(p + 1 < pages ? at + ifdStride : 0, big ? 8 : 4);
      iv.setUint32(o, xn, le);
      iv.setUint32(o + 4, xd, le);
      iv.setUint32(o + 8, yn, le);
      iv.setUint32(o + 12, yd, le);
    }
    return out;
  }
}

/**
 * Opens a TIFF writer for dims (pages in all) of dtype. Refuses an input path and a missing or
 * read-only folder here, before any work is done.
 */
export function openTiffWriter(
  path: string,
  dims: { width: number; height: number; pages: number },
  dtype: TiffDtype,
  opts: WriteTiffOptions = {},
): TiffWriter {
  return new TiffWriter(path, dims, dtype, opts);
}

/** Writes a whole stack as TIFF, atomically: one TiffWriter write and commit. */
export function writeTiff(
  path: string,
  data: TiffData,
  dims: { width: number; height: number; pages: number },
  opts: WriteTiffOptions = {},
): void {
  const { width, height, pages } = dims;
  if (data.length !== width * height * pages) {
    throw new ParameterError('data.length', `${width * height * pages} for ${width}×${height}×${pages}`, data.length);
  }
  const w = openTiffWriter(path, dims, dtypeOfArray(data), opts);
  try {
    w.write(data);
    w.commit();
  } finally {
    w.abort();
  }
}
