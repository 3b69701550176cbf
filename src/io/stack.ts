// One entry point for image stacks, whatever the file format: commands accept raw.mrc or raw.tif
// through readImageStack, and write results in the format their output name asks for.
import { closeSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import { InputFileError, ParameterError } from '../errors.js';
import { openInput } from './binary.js';
import { type MrcData, type MrcHeader, readMrc } from './mrc.js';
import type { StackData, StackDtype, StackFormat } from './stack-types.js';
import { MRC_EXT, openStackWriter, outputFormat, TIFF_EXT } from './stack-writer.js';
import { dtypeOfArray, readTiff, type TiffInfo } from './tiff.js';

export type { StackData, StackDtype, StackFormat } from './stack-types.js';

export interface ImageStack {
  format: StackFormat;
  /** Row-major [frame][y][x]; complex64: interleaved (re, im). */
  data: StackData;
  width: number;
  height: number;
  /** Frames (MRC z sections, TIFF pages) in `data`. */
  frames: number;
  dtype: StackDtype;
  /** Pixel spacing in µm; z is null when the file does not say. */
  pixelSizeUm: { x: number; y: number; z: number | null } | null;
  /** The format's own header, for writing results with the input's metadata. */
  mrc?: MrcHeader;
  tiff?: TiffInfo;
}

/** The format of a file, from its first bytes (TIFF's byte-order mark and magic), else its extension. */
export function detectFormat(path: string): StackFormat {
  const { fd, size } = openInput(path);
  const head = Buffer.alloc(212);
  try {
    if (size >= 4) readSync(fd, head, 0, Math.min(size, 212), 0);
  } finally {
    closeSync(fd);
  }
  const tag = head.toString('latin1', 0, 2);
  if (
    (tag === 'II' && head[2] === 42) ||
    (tag === 'II' && head[2] === 43) ||
    (tag === 'MM' && (head[3] === 42 || head[3] === 43))
  )
    return 'tiff';
  const ext = extname(path).toLowerCase();
  if (TIFF_EXT.has(ext)) {
    if (size >= 1024 && looksLikeMrc(head)) {
      throw new InputFileError(path, 'not a TIFF file: it has an MRC header; rename it to .mrc to read it as MRC');
    }
    return 'tiff'; // the TIFF reader then names what is wrong
  }
  if (MRC_EXT.has(ext)) return 'mrc';
  throw new InputFileError(
    path,
    `unknown file format (expected MRC: ${[...MRC_EXT].join(' ')} or TIFF: ${[...TIFF_EXT].join(' ')})`,
  );
}

/** An MRC header's stamps: 'MAP ' at byte 208 (MRC2000 and later) or Priism's nDVID −16224 at 96. */
function looksLikeMrc(head: Buffer): boolean {
  if (head.length < 212) return false;
  if (head.toString('latin1', 208, 212) === 'MAP ') return true;
  return head.readInt16LE(96) === -16224 || head.readInt16BE(96) === -16224;
}

function mrcDtype(h: MrcHeader, data: MrcData): StackDtype {
  if (h.mode === 4) return 'complex64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  return 'float32';
}

/** Reads an MRC or TIFF stack (or frames [start, end) of it). */
export function readImageStack(path: string, opts: { frames?: [number, number] } = {}): ImageStack {
  if (detectFormat(path) === 'mrc') {
    const { header, data, frames } = readMrc(path, opts);
    const px = header.pixelSizeUm;
    return {
      format: 'mrc',
      data,
      width: header.nx,
      height: header.ny,
      frames: frames[1] - frames[0],
      dtype: mrcDtype(header, data),
      pixelSizeUm: px ? { x: px.x, y: px.y, z: px.z } : null,
      mrc: header,
    };
  }
  const { info, data } = readTiff(path, opts.frames ? { pages: opts.frames } : {});
  const frames = opts.frames ? opts.frames[1] - opts.frames[0] : info.pages;
  return {
    format: 'tiff',
    data,
    width: info.width,
    height: info.height,
    frames,
    dtype: info.dtype,
    pixelSizeUm: info.pixelSizeUm,
    tiff: info,
  };
}

/**
 * Writes a stack as MRC or TIFF by the output's extension, atomically: one openStackWriter write
 * and commit. `template` (an MRC header or file) keeps the input's header for MRC output, as the
 * reference does for denoised results.
 */
export function writeImageStack(
  path: string,
  data: StackData,
  dims: { width: number; height: number; frames: number },
  opts: {
    pixelSizeUm?: { x: number; y: number; z?: number | null } | null;
    template?: MrcHeader | string;
    inputs?: string[];
    /** Frames are time points (ImageJ frames, T), e.g. one image per SIM cycle. */
    timeLapse?: boolean;
  } = {},
): void {
  const format = outputFormat(path);
  if (format === 'mrc' && (data instanceof Uint32Array || data instanceof Int32Array)) {
    throw new ParameterError('data', 'uint8/int8/int16/uint16/float32 for MRC', data.constructor.name);
  }
  const expected = dims.width * dims.height * dims.frames;
  if (data.length !== expected) {
    throw new ParameterError('data.length', `${expected} for ${dims.width}×${dims.height}×${dims.frames}`, data.length);
  }
  const w = openStackWriter(path, dims, dtypeOfArray(data), opts);
  try {
    w.write(data);
    w.commit();
  } finally {
    w.abort();
  }
}
