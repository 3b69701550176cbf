// MRC / Priism files: the reference's format for raw SIM cycles, ground truths and OTFs.
//
// Layout: a 1024-byte header (56 words + 10 labels of 80 chars), `next` bytes of extended
// header, then the data, row-major [z][y][x] with x fastest.
//
// Rules chosen here (documented because MRC readers disagree):
// - Byte order: machine stamp at byte 212 (0x44 0x44 little, 0x11 0x11 big). Files from the
//   reference (Priism/OMX headers) leave it 0; then the order is the one in which the
//   header is plausible (known mode, positive sizes ≤ 2²⁰, Priism's nDVID −16224 at byte 96),
//   little-endian first.
// - Mode 0 signedness: IMOD files (imodStamp 1146047817 at byte 152) are signed only when
//   imodFlags (byte 156) bit 0 is set; otherwise MRC2014 files (nversion ≥ 20140 at byte 108)
//   are signed as the standard says; older files are unsigned, as most legacy writers meant.
//   writeMrc always writes the IMOD stamp with the flag matching the array type.
// - Pixel size: Priism headers (nDVID −16224) store the pixel spacing itself in µm in
//   xlen/ylen/zlen (MT.mrc: 0.0626 µm; the reference's OTFs: the radial spacing in cycles/µm);
//   standard MRC stores the cell size in Å, so spacing = xlen/mx/1e4 µm. `cellA` keeps the raw
//   values either way.
import { closeSync } from 'node:fs';
import { InputFileError, ParameterError, ShapeError } from '../errors.js';
import { AtomicFile } from './atomic.js';
import { floatToHalf, halfToFloat, MAX_ELEMENTS, openInput, readExactly, swapBytes } from './binary.js';

export interface MrcHeader {
  nx: number;
  ny: number;
  nz: number;
  mode: number;
  mx: number;
  my: number;
  mz: number;
  /** xlen, ylen, zlen as stored (Å for standard MRC, µm per pixel for Priism). */
  cellA: [number, number, number];
  /** Extended header length in bytes. */
  next: number;
  littleEndian: boolean;
  labels: string[];
  /** Pixel spacing in µm; null when the x or y cell (or grid) is 0; z null when its cell is 0 (not stated). */
  pixelSizeUm: { x: number; y: number; z: number | null } | null;
  dmin: number;
  dmax: number;
  dmean: number;
  /** True when the header is Priism-style (cell lengths are µm per pixel). */
  priism?: boolean;
  /** Mode 0 only: whether the bytes are signed (see the rule at the top of this file). */
  signedBytes?: boolean;
}

/** Mode 4 data is a Float32Array of interleaved (re, im), length 2·nx·ny·nz. */
export type MrcData = Int8Array | Uint8Array | Int16Array | Uint16Array | Float32Array;

const HEADER = 1024;
const PRIISM_ID = -16224;
const IMOD_STAMP = 1146047817;
/** Bytes per stored value and per element of the returned array, by mode. */
const MODES: Record<number, { bytes: number; name: string }> = {
  0: { bytes: 1, name: 'int8/uint8' },
  1: { bytes: 2, name: 'int16' },
  2: { bytes: 4, name: 'float32' },
  4: { bytes: 8, name: 'complex64' },
  6: { bytes: 2, name: 'uint16' },
  12: { bytes: 2, name: 'float16' },
};
/** The element type of a header's data, as rdl names dtypes (mode 0 by its signed flag). */
export function mrcDtype(h: MrcHeader): string {
  if (h.mode === 0) return h.signedBytes ? 'int8' : 'uint8';
  return MODES[h.mode]!.name;
}

/** Modes some writers use that this reader refuses with a clear message. */
const KNOWN_UNSUPPORTED = new Set([3, 101]);

/** Raw header + extended header bytes of headers read from files, for writeMrc's template. */
const rawHeaders = new WeakMap<MrcHeader, Uint8Array>();

function plausible(v: DataView, le: boolean): boolean {
  const nx = v.getInt32(0, le);
  const ny = v.getInt32(4, le);
  const nz = v.getInt32(8, le);
  const mode = v.getInt32(12, le);
  const ok = (n: number) => n > 0 && n <= 1 << 20;
  return ok(nx) && ok(ny) && nz > 0 && nz <= 1 << 28 && (mode in MODES || KNOWN_UNSUPPORTED.has(mode));
}

function byteOrder(v: DataView, path: string): boolean {
  const s0 = v.getUint8(212);
  const s1 = v.getUint8(213);
  if (s0 === 0x44 && (s1 === 0x44 || s1 === 0x41)) return true; // 0x44 0x41 is an old little-endian stamp
  if (s0 === 0x11 && s1 === 0x11) return false;
  if (v.getInt16(96, true) === PRIISM_ID && plausible(v, true)) return true;
  if (v.getInt16(96, false) === PRIISM_ID && plausible(v, false)) return false;
  if (plausible(v, true)) return true;
  if (plausible(v, false)) return false;
  throw new InputFileError(
    path,
    `not an MRC file: implausible header (nx ${v.getInt32(0, true)}, ny ${v.getInt32(4, true)}, nz ${v.getInt32(8, true)}, mode ${v.getInt32(12, true)})`,
  );
}

/** Parses the 1024-byte header (without file-size checks). */
export function parseMrcHeader(bytes: Uint8Array, path: string): MrcHeader {
  if (bytes.byteLength < HEADER) {
    throw new InputFileError(path, `file is ${bytes.byteLength} bytes, shorter than the 1024-byte MRC header`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, HEADER);
  const le = byteOrder(v, path);
  const i32 = (o: number) => v.getInt32(o, le);
  const f32 = (o: number) => v.getFloat32(o, le);
  const [nx, ny, nz, mode] = [i32(0), i32(4), i32(8), i32(12)];
  if (!(nx > 0 && ny > 0 && nz > 0)) throw new InputFileError(path, `invalid dimensions ${nx}×${ny}×${nz}`);
  if (!(mode in MODES)) {
    throw new InputFileError(path, `MRC mode ${mode} is not supported (supported: 0, 1, 2, 4, 6, 12)`);
  }
  const next = i32(92);
  if (next < 0) throw new InputFileError(path, `negative extended header size ${next}`);
  const priism = v.getInt16(96, le) === PRIISM_ID;
  const [mx, my, mz] = [i32(28), i32(32), i32(36)];
  const cellA: [number, number, number] = [f32(40), f32(44), f32(48)];
  let pixelSizeUm: MrcHeader['pixelSizeUm'] = null;
  // A z cell of 0 means "no z spacing" (rdl writes 0 for time-lapses and unknown spacings); x and y must be stated.
  const pos = (c: number) => c > 0 && Number.isFinite(c);
  if (priism && pos(cellA[0]) && pos(cellA[1])) {
    pixelSizeUm = { x: cellA[0], y: cellA[1], z: pos(cellA[2]) ? cellA[2] : null };
  } else if (!priism && mx > 0 && my > 0 && pos(cellA[0]) && pos(cellA[1])) {
    pixelSizeUm = {
      x: cellA[0] / mx / 1e4,
      y: cellA[1] / my / 1e4,
      z: mz > 0 && pos(cellA[2]) ? cellA[2] / mz / 1e4 : null,
    };
  }
  const nlabl = Math.max(0, Math.min(10, i32(220)));
  const labels: string[] = [];
  for (let k = 0; k < nlabl; k++) {
    const raw = bytes.subarray(224 + 80 * k, 224 + 80 * (k + 1));
    const end = raw.indexOf(0);
    labels.push(
      Buffer.from(end < 0 ? raw : raw.subarray(0, end))
        .toString('latin1')
        .trimEnd(),
    );
  }
  let signedBytes: boolean | undefined;
  if (mode === 0) {
    if (i32(152) === IMOD_STAMP) signedBytes = (i32(156) & 1) === 1;
    else signedBytes = i32(108) >= 20140 && !priism;
  }
  const header: MrcHeader = {
    nx,
    ny,
    nz,
    mode,
    mx,
    my,
    mz,
    cellA,
    next,
    littleEndian: le,
    labels,
    pixelSizeUm,
    dmin: f32(76),
    dmax: f32(80),
    dmean: f32(84),
    priism,
  };
  if (signedBytes !== undefined) header.signedBytes = signedBytes;
  return header;
}

/** An open MRC file: header checked against the file length; sections read on demand. */
export class MrcReader {
  private fd: number | null;
  readonly header: MrcHeader;
  /** Byte offset of the first data byte. */
  readonly dataOffset: number;
  /** Bytes per z section. */
  readonly sectionBytes: number;

  constructor(readonly path: string) {
    const { fd, size } = openInput(path);
    this.fd = fd;
    try {
      if (size < HEADER) throw new InputFileError(path, `file is ${size} bytes, shorter than the 1024-byte MRC header`);
      const head = new Uint8Array(HEADER);
      readExactly(fd, head, 0, path);
      this.header = parseMrcHeader(head, path);
      const h = this.header;
      this.dataOffset = HEADER + h.next;
      this.sectionBytes = h.nx * h.ny * MODES[h.mode]!.bytes;
      const need = this.dataOffset + this.sectionBytes * h.nz;
      if (size < need) {
        throw new InputFileError(
          path,
          `header says ${h.nx}×${h.ny}×${h.nz} mode ${h.mode} (${need} bytes with header), but the file has ${size} bytes (truncated?)`,
        );
      }
      const raw = new Uint8Array(this.dataOffset);
      raw.set(head);
      if (h.next > 0) readExactly(fd, raw.subarray(HEADER), HEADER, path);
      rawHeaders.set(h, raw);
    } catch (err) {
      closeSync(fd);
      this.fd = null;
      throw err;
    }
  }

  /** Reads z sections [start, end) into a typed array (row-major [z][y][x]). */
  read(start = 0, end = this.header.nz): MrcData {
    const h = this.header;
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end <= h.nz && start < end)) {
      throw new ParameterError('frames', `[start, end) with 0 ≤ start < end ≤ ${h.nz}`, [start, end]);
    }
    if (this.fd === null) throw new InputFileError(this.path, 'reader is closed');
    const count = h.nx * h.ny * (end - start) * (h.mode === 4 ? 2 : 1);
    if (count > MAX_ELEMENTS) {
      throw new InputFileError(
        this.path,
        `${count} values do not fit one array (max ${MAX_ELEMENTS}); read fewer frames at a time`,
      );
    }
    // Uninitialized memory: every byte is overwritten by the read (or the read throws), and zero-filling 1 GB would cost as much as reading it.
    const bytes = Buffer.allocUnsafeSlow(this.sectionBytes * (end - start));
    readExactly(this.fd, bytes, this.dataOffset + start * this.sectionBytes, this.path);
    return decode(bytes, h);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function decode(bytes: Uint8Array, h: MrcHeader): MrcData {
  const wordBytes = h.mode === 4 ? 4 : MODES[h.mode]!.bytes;
  // Node is little-endian on every supported platform; big-endian files are swapped in place.
  if (!h.littleEndian) swapBytes(bytes, wordBytes);
  const buf = bytes.buffer as ArrayBuffer;
  switch (h.mode) {
    case 0:
      return h.signedBytes ? new Int8Array(buf) : new Uint8Array(buf); // a plain Uint8Array, not the Buffer
    case 1:
      return new Int16Array(buf);
    case 6:
      return new Uint16Array(buf);
    case 12:
      return halfToFloat(new Uint16Array(buf));
    default:
      return new Float32Array(buf);
  }
}

/** Reads the header only (checked against the file length). */
export function readMrcHeader(path: string): MrcHeader {
  const r = new MrcReader(path);
  r.close();
  return r.header;
}

/**
 * Reads an MRC file, or only z sections [start, end) of it (`frames`), reading just those
 * bytes — a 10 GB time-lapse needs only the memory of the frames asked for.
 */
export function readMrc(
  path: string,
  opts: { frames?: [number, number] } = {},
): { header: MrcHeader; data: MrcData; frames: [number, number] } {
  const r = new MrcReader(path);
  try {
    const [start, end] = opts.frames ?? [0, r.header.nz];
    return { header: r.header, data: r.read(start, end), frames: [start, end] };
  } finally {
    r.close();
  }
}

function defaultMode(data: MrcData): number {
  if (data instanceof Int8Array || data instanceof Uint8Array) return 0;
  if (data instanceof Int16Array) return 1;
  if (data instanceof Uint16Array) return 6;
  return 2;
}

/** Stored bytes for data in mode (little- or big-endian), checking the array type fits. */
function encode(data: MrcData, mode: number, le: boolean): Uint8Array {
  const expect: Record<number, string> = {
    0: 'Int8Array or Uint8Array',
    1: 'Int16Array',
    2: 'Float32Array',
    4: 'Float32Array (interleaved re, im)',
    6: 'Uint16Array',
    12: 'Float32Array',
  };
  const ok =
    (mode === 0 && (data instanceof Int8Array || data instanceof Uint8Array)) ||
    (mode === 1 && data instanceof Int16Array) ||
    (mode === 6 && data instanceof Uint16Array) ||
    ((mode === 2 || mode === 4 || mode === 12) && data instanceof Float32Array);
  if (!ok)
    throw new ParameterError('mode', `${expect[mode] ?? 'a supported mode'} for mode ${mode}`, data.constructor.name);
  const src = mode === 12 ? floatToHalf(data as Float32Array) : data;
  let bytes = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  if (!le && mode !== 0) {
    bytes = bytes.slice();
    swapBytes(bytes, mode === 1 || mode === 6 || mode === 12 ? 2 : 4);
  }
  return bytes;
}

/**
 * Running statistics over the values written so far. One running sum across all write() calls,
 * so a stack written in pieces gets the same header bytes as one written whole.
 */
interface Stats {
  n: number;
  min: number;
  max: number;
  sum: number;
  sq: number;
}

function accumulate(s: Stats, data: MrcData, mode: number): void {
  // Mode 4: statistics of the amplitude, as IMOD reports them.
  const n = mode === 4 ? data.length / 2 : data.length;
  let { min, max, sum, sq } = s;
  for (let i = 0; i < n; i++) {
    const x = mode === 4 ? Math.hypot(data[2 * i]!, data[2 * i + 1]!) : data[i]!;
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
    sq += x * x;
  }
  Object.assign(s, { n: s.n + n, min, max, sum, sq });
}

function finish(s: Stats): { min: number; max: number; mean: number; rms: number } {
  const { n } = s;
  const mean = n ? s.sum / n : 0;
  return { min: n ? s.min : 0, max: n ? s.max : 0, mean, rms: n ? Math.sqrt(Math.max(0, s.sq / n - mean * mean)) : 0 };
}

export interface WriteMrcOptions {
  /** Output mode; default from the array type (Float32Array → 2; 4 and 12 must be asked for). */
  mode?: number;
  /** Header to keep (read from a file, or that file's path): labels, cell, extended header, byte order. */
  template?: MrcHeader | string;
  /** Pixel spacing in µm; z null (or absent) writes a z cell of 0: no z spacing stated. */
  pixelSizeUm?: { x: number; y: number; z?: number | null };
  labels?: string[];
  /** Files never to overwrite. */
  inputs?: string[];
}

/**
 * The header (1024 bytes + extended header) for dims and mode, statistics left for commit. With a
 * template, its bytes are copied and only dimensions, mode (and the pixel size or labels when
 * given) are updated — as the reference writes denoised output with the input's header.
 */
function buildHeader(
  dims: { nx: number; ny: number; nz: number },
  mode: number,
  signed: boolean,
  tpl: MrcHeader | undefined,
  opts: WriteMrcOptions,
): Uint8Array {
  const { nx, ny, nz } = dims;
  const tplRaw = tpl ? rawHeaders.get(tpl) : undefined;
  const le = tpl?.littleEndian ?? true;
  const head = new Uint8Array(tplRaw ? tplRaw.byteLength : HEADER);
  if (tplRaw) head.set(tplRaw);
  const v = new DataView(head.buffer);
  const priism = tpl?.priism ?? false;
  v.setInt32(0, nx, le);
  v.setInt32(4, ny, le);
  v.setInt32(8, nz, le);
  v.setInt32(12, mode, le);
  if (!tplRaw) {
    v.setInt32(64, 1, le); // mapc, mapr, maps: columns x, rows y, sections z
    v.setInt32(68, 2, le);
    v.setInt32(72, 3, le);
    v.setInt32(108, 20140, le); // nversion: MRC2014
    head.set([0x4d, 0x41, 0x50, 0x20], 208); // 'MAP '
    if (tpl) {
      v.setFloat32(40, tpl.cellA[0], le);
      v.setFloat32(44, tpl.cellA[1], le);
      v.setFloat32(48, tpl.cellA[2], le);
    }
    for (const o of [52, 56, 60]) v.setFloat32(o, 90, le); // cell angles, degrees
  }
  v.setInt32(92, head.byteLength - HEADER, le);
  head.set(le ? [0x44, 0x44, 0, 0] : [0x11, 0x11, 0, 0], 212);
  if (priism) {
    // Priism: mx..mz are not grid sizes and xlen..zlen are µm per pixel; keep them.
    if (opts.pixelSizeUm) {
      v.setFloat32(40, opts.pixelSizeUm.x, le);
      v.setFloat32(44, opts.pixelSizeUm.y, le);
      v.setFloat32(48, opts.pixelSizeUm.z ?? 0, le);
    }
  } else {
    // Standard MRC: grid = dims, cell (Å) = grid × spacing (µm) × 1e4, keeping the spacing.
    const px = opts.pixelSizeUm ?? tpl?.pixelSizeUm ?? null;
    v.setInt32(28, nx, le);
    v.setInt32(32, ny, le);
    v.setInt32(36, nz, le);
    v.setFloat32(40, px ? px.x * 1e4 * nx : 0, le);
    v.setFloat32(44, px ? px.y * 1e4 * ny : 0, le);
    v.setFloat32(48, px?.z ? px.z * 1e4 * nz : 0, le);
  }
  if (mode === 0) {
    v.setInt32(152, IMOD_STAMP, le);
    v.setInt32(156, (v.getInt32(156, le) & ~1) | (signed ? 1 : 0), le);
  }
  if (opts.labels) {
    if (opts.labels.length > 10) throw new ParameterError('labels', 'at most 10 labels', opts.labels.length);
    head.fill(0, 224, HEADER);
    opts.labels.forEach((l, k) => {
      head.set(Buffer.from(l.slice(0, 80), 'latin1'), 224 + 80 * k);
    });
    v.setInt32(220, opts.labels.length, le);
  }
  return head;
}

/**
 * Writes an MRC file section by section (memory ∝ the sections of one write() call) to a
 * temporary file renamed over `path` at commit; the header, with statistics over all sections,
 * is written last. Open with openMrcWriter; writeMrc is the one-call form.
 */
export class MrcWriter {
  private readonly file: AtomicFile;
  private readonly head: Uint8Array;
  private readonly le: boolean;
  private readonly sectionBytes: number;
  private readonly sectionValues: number;
  private readonly stats: Stats = { n: 0, min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY, sum: 0, sq: 0 };
  private written = 0;

  /** See openMrcWriter. */
  constructor(
    readonly path: string,
    readonly dims: { nx: number; ny: number; nz: number },
    readonly mode: number,
    private readonly signed: boolean,
    opts: Omit<WriteMrcOptions, 'mode'> = {},
  ) {
    for (const [k, n] of Object.entries(dims)) {
      if (!(Number.isInteger(n) && n > 0 && n < 2 ** 31))
        throw new ParameterError(`dims.${k}`, 'a positive integer', n);
    }
    if (!(mode in MODES)) throw new ParameterError('mode', 'one of 0, 1, 2, 4, 6, 12', mode);
    const tpl = typeof opts.template === 'string' ? readMrcHeader(opts.template) : opts.template;
    this.head = buildHeader(dims, mode, signed, tpl, opts);
    this.le = tpl?.littleEndian ?? true;
    this.sectionValues = dims.nx * dims.ny * (mode === 4 ? 2 : 1);
    this.sectionBytes = dims.nx * dims.ny * MODES[mode]!.bytes;
    const inputs = [...(opts.inputs ?? []), ...(typeof opts.template === 'string' ? [opts.template] : [])];
    this.file = new AtomicFile(path, inputs); // last: nothing to clean up if the checks above throw
  }

  /** z sections written so far. */
  get framesWritten(): number {
    return this.written;
  }

  /** Appends whole z sections (row-major [z][y][x]; mode 4 interleaved re, im). */
  write(data: MrcData): void {
    const k = data.length / this.sectionValues;
    if (!(Number.isInteger(k) && k > 0 && this.written + k <= this.dims.nz)) {
      throw new ParameterError(
        'data.length',
        `a multiple of ${this.sectionValues} (${this.dims.nx}×${this.dims.ny} mode ${this.mode}), at most ${this.dims.nz - this.written} sections`,
        data.length,
      );
    }
    if (this.mode === 0 && data instanceof Int8Array !== this.signed) {
      throw new ParameterError('data', this.signed ? 'Int8Array' : 'Uint8Array', data.constructor.name);
    }
    const bytes = encode(data, this.mode, this.le);
    this.file.write(bytes, this.head.byteLength + this.written * this.sectionBytes);
    accumulate(this.stats, data, this.mode);
    this.written += k;
  }

  /** Writes the header with the statistics and renames the file into place; all nz sections must be written. */
  commit(): void {
    if (this.file.open && this.written !== this.dims.nz) {
      this.abort();
      throw new ShapeError(`${this.path}: ${this.written} of ${this.dims.nz} sections written; nothing was saved`);
    }
    const s = finish(this.stats);
    const v = new DataView(this.head.buffer);
    v.setFloat32(76, s.min, this.le);
    v.setFloat32(80, s.max, this.le);
    v.setFloat32(84, s.mean, this.le);
    v.setFloat32(216, s.rms, this.le);
    this.file.write(this.head, 0);
    this.file.commit();
  }

  /** Removes the temporary file; a no-op after commit or a first abort. */
  abort(): void {
    this.file.abort();
  }

  [Symbol.dispose](): void {
    this.abort();
  }
}

/**
 * Opens an MRC writer for dims (nz sections in all) and mode; `signed` picks int8 for mode 0.
 * Refuses an input path and a missing or read-only folder here, before any work is done.
 */
export function openMrcWriter(
  path: string,
  dims: { nx: number; ny: number; nz: number },
  mode: number,
  opts: Omit<WriteMrcOptions, 'mode'> & { signed?: boolean } = {},
): MrcWriter {
  return new MrcWriter(path, dims, mode, opts.signed ?? false, opts);
}

/** Writes data (row-major [z][y][x]) as MRC, atomically: one MrcWriter write and commit. */
export function writeMrc(
  path: string,
  data: MrcData,
  dims: { nx: number; ny: number; nz: number },
  opts: WriteMrcOptions = {},
): void {
  const mode = opts.mode ?? defaultMode(data);
  const expected = dims.nx * dims.ny * dims.nz * (mode === 4 ? 2 : 1);
  if (data.length !== expected) {
    throw new ParameterError(
      'data.length',
      `${expected} for ${dims.nx}×${dims.ny}×${dims.nz} mode ${mode}`,
      data.length,
    );
  }
  const { mode: _, ...rest } = opts;
  const w = openMrcWriter(path, dims, mode, { ...rest, signed: data instanceof Int8Array });
  try {
    w.write(data);
    w.commit();
  } finally {
    w.abort();
  }
}
