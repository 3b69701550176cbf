// One entry point for image stacks, whatever the file format: commands accept raw.mrc or raw.tif
// through readImageStack, and write results in the format their output name asks for.
import { closeSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import { InputFileError, ParameterError } from '../errors.js';
import { openInput } from './binary.js';
import { type MrcData, type MrcHeader, readMrc, writeMrc } from './mrc.js';
import { readTiff, type TiffData, type TiffInfo, writeTiff } from './tiff.js';

export type StackFormat = 'mrc' | 'tiff';
export type StackDtype = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'complex64';
export type StackData = MrcData | TiffData;

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

const MRC_EXT = new Set(['.mrc', '.dv', '.st', '.map', '.rec', '.ali', '.mrcs']);
const TIFF_EXT = new Set(['.tif', '.tiff', '.btf', '.tf8']);

/** The format of a file, from its first bytes (TIFF's byte-order mark and magic), else its extension. */
export function detectFormat(path: string): StackFormat {
  const { fd, size } = openInput(path);
  const head = Buffer.alloc(4);
  try {
    if (size >= 4) readSync(fd, head, 0, 4, 0);
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
  if (TIFF_EXT.has(ext)) return 'tiff'; // the TIFF reader then names what is wrong
  if (MRC_EXT.has(ext)) return 'mrc';
  throw new InputFileError(
    path,
    `unknown file format (expected MRC: ${[...MRC_EXT].join(' ')} or TIFF: ${[...TIFF_EXT].join(' ')})`,
  );
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
 * Writes a stack as MRC or TIFF by the output's extension. `template` (an MRC header or file)
 * keeps the input's header for MRC output, as the reference does for denoised results.
 */
export function writeImageStack(
  path: string,
  data: StackData,
  dims: { width: number; height: number; frames: number },
  opts: {
    pixelSizeUm?: { x: number; y: number; z?: number | null } | null;
    template?: MrcHeader | string;
    inputs?: string[];
  } = {},
): void {
  const ext = extname(path).toLowerCase();
  const px = opts.pixelSizeUm ?? undefined;
  const inputs = opts.inputs ?? [];
  if (MRC_EXT.has(ext)) {
    if (data instanceof Uint32Array || data instanceof Int32Array) {
      throw new ParameterError('data', 'uint8/int8/int16/uint16/float32 for MRC', data.constructor.name);
    }
    // MRC stores a z spacing; when unknown, the x spacing (isotropic) is the least surprising.
    const pixelSizeUm = px ? { x: px.x, y: px.y, z: px.z ?? px.x } : undefined;
    writeMrc(
      path,
      data,
      { nx: dims.width, ny: dims.height, nz: dims.frames },
      {
        ...(pixelSizeUm ? { pixelSizeUm } : {}),
        ...(opts.template ? { template: opts.template } : {}),
        inputs,
      },
    );
  } else if (TIFF_EXT.has(ext)) {
    writeTiff(
      path,
      data,
      { width: dims.width, height: dims.height, pages: dims.frames },
      { ...(px ? { pixelSizeUm: px } : {}), inputs },
    );
  } else {
    throw new ParameterError('output', 'a file name ending in .mrc or .tif', path);
  }
}
