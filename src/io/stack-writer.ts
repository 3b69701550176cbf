// Streaming stack writers, MRC or TIFF by the output's extension: frames are written as they are
// computed (memory ∝ one write() call, not the acquisition's length) to a temporary file beside
// the target, renamed over it at commit. writeImageStack, writeMrc and writeTiff are the
// one-call forms of the same writers.
import { extname } from 'node:path';
import { ParameterError } from '../errors.js';
import { type MrcHeader, openMrcWriter } from './mrc.js';
import type { StackData, StackDtype, StackFormat } from './stack-types.js';
import { openTiffWriter, type WriteTiffOptions } from './tiff.js';

export const MRC_EXT = new Set(['.mrc', '.dv', '.st', '.map', '.rec', '.ali', '.mrcs']);
export const TIFF_EXT = new Set(['.tif', '.tiff', '.btf', '.tf8']);

export interface StackWriter {
  readonly path: string;
  /** Frames (MRC z sections, TIFF pages) written so far. */
  readonly framesWritten: number;
  /** Appends whole frames, row-major [frame][y][x], of the dtype the writer was opened with. */
  write(frames: StackData): void;
  /** Finishes the header (statistics, display range) and IFDs, fsyncs, renames into place; all frames must be written. */
  commit(): void;
  /** Removes the temporary file; a no-op after commit or a first abort. */
  abort(): void;
  /** abort(): `using w = openStackWriter(…)` cleans up on any early exit. */
  [Symbol.dispose](): void;
}

export interface StackWriterOptions {
  /**
   * Pixel spacing in µm. z only when known: MRC then stores a z cell of 0 (no spacing; Fiji's
   * Bio-Formats leaves the voxel depth unset, IMOD takes 1), TIFF no ImageJ `spacing` — except for
   * a time-lapse, whose TIFF gets spacing = x, ImageJ's own calibration of a 2D image.
   */
  pixelSizeUm?: { x: number; y: number; z?: number | null } | null;
  /**
   * The frames are time points (SIM cycles, a time-lapse), not z slices: TIFF gets the ImageJ axes
   * frames (T) instead of slices (Z), unless tiffAxes says otherwise.
   */
  timeLapse?: boolean;
  /** MRC only: the input's header (or file) to keep — labels, extended header, byte order. */
  template?: MrcHeader | string;
  /** TIFF only: ImageJ hyperstack axes, e.g. the input's TiffInfo.imagej adapted to the output's frame count. */
  tiffAxes?: WriteTiffOptions['axes'];
  /** TIFF only: force BigTIFF (true) or classic (false); default BigTIFF only past 4 GB. */
  bigTiff?: boolean;
  /** Files never to overwrite. */
  inputs?: string[];
}

/** The format an output name asks for by its extension. */
export function outputFormat(path: string): StackFormat {
  const ext = extname(path).toLowerCase();
  if (MRC_EXT.has(ext)) return 'mrc';
  if (TIFF_EXT.has(ext)) return 'tiff';
  throw new ParameterError('output', 'a file name ending in .mrc or .tif', path);
}

const MRC_MODES: Partial<Record<StackDtype, number>> = {
  uint8: 0,
  int8: 0,
  int16: 1,
  uint16: 6,
  float32: 2,
  complex64: 4,
};

/**
 * Opens a writer for `dims.frames` frames of dtype at path (format by extension). Everything
 * that can fail before the data exists fails here: an unknown extension or dtype, a path that is
 * one of the inputs, a missing or read-only folder (OutputError naming the path).
 */
export function openStackWriter(
  path: string,
  dims: { width: number; height: number; frames: number },
  dtype: StackDtype,
  opts: StackWriterOptions = {},
): StackWriter {
  const px = opts.pixelSizeUm ?? undefined;
  const inputs = opts.inputs ?? [];
  if (outputFormat(path) === 'mrc') {
    const mode = Object.hasOwn(MRC_MODES, dtype) ? MRC_MODES[dtype] : undefined;
    if (mode === undefined)
      throw new ParameterError('dtype', 'uint8/int8/int16/uint16/float32/complex64 for MRC', dtype);
    // A z spacing only when known: a z cell of 0 otherwise (a time-lapse has no z step).
    const pixelSizeUm = px ? { x: px.x, y: px.y, z: px.z ?? null } : undefined;
    return openMrcWriter(path, { nx: dims.width, ny: dims.height, nz: dims.frames }, mode, {
      signed: dtype === 'int8',
      ...(pixelSizeUm ? { pixelSizeUm } : {}),
      ...(opts.template ? { template: opts.template } : {}),
      inputs,
    });
  }
  if (dtype === 'complex64') throw new ParameterError('dtype', 'a real dtype for TIFF', dtype);
  const axes = opts.tiffAxes ?? (opts.timeLapse ? { frames: dims.frames } : undefined);
  const tiffPx = px && opts.timeLapse ? { x: px.x, y: px.y, z: px.z ?? px.x } : px;
  return openTiffWriter(path, { width: dims.width, height: dims.height, pages: dims.frames }, dtype, {
    ...(tiffPx ? { pixelSizeUm: tiffPx } : {}),
    ...(axes ? { axes } : {}),
    ...(opts.bigTiff !== undefined ? { bigTiff: opts.bigTiff } : {}),
    inputs,
  });
}
