// Checks every command makes on its inputs before any work, and on its results before printing
// or writing them: files that exist, finite pixels, frame counts, contrast, image sizes, output
// paths. Each error names the file, in one line.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputFileError, OutputError, RdlError, ShapeError } from '../errors.js';
import { firstNonFinite } from '../io/binary.js';
import { type ImageStack, readImageStack } from '../io/stack.js';
import { outputFormat } from '../io/stack-writer.js';

/** Throws InputFileError when path is not an existing file (checked before any other option). */
export function requireInputFile(path: string): void {
  if (!existsSync(path)) throw new InputFileError(path, 'no such file');
  if (statSync(path).isDirectory()) throw new InputFileError(path, 'is a folder, not an image file');
}

/** Where the first non-finite value of float data sits, in words ('' when all are finite). */
export function nonFiniteAt(
  data: ArrayLike<number>,
  dims: { width: number; height: number },
): { index: number; where: string } | null {
  const i = firstNonFinite(data);
  if (i < 0) return null;
  const plane = dims.width * dims.height;
  const z = Math.floor(i / plane);
  const y = Math.floor((i % plane) / dims.width);
  return { index: i, where: `${data[i]} at frame ${z}, y ${y}, x ${i % dims.width}` };
}

/** InputFileError naming the file and its first NaN/±Inf pixel. */
export function requireFinitePixels(
  path: string,
  img: { data: ArrayLike<number>; width: number; height: number },
): void {
  const bad = nonFiniteAt(img.data, img);
  if (bad) {
    throw new InputFileError(
      path,
      `holds a non-finite value (${bad.where}); only finite pixel values can be processed`,
    );
  }
}

/** A real-valued image stack with finite pixels, read whole; errors name the file. */
export function readRealStack(path: string, what = 'image data'): ImageStack {
  requireInputFile(path);
  const img = readImageStack(path);
  if (img.dtype === 'complex64') throw new InputFileError(path, `complex data cannot be ${what}`);
  requireFinitePixels(path, img);
  return img;
}

/** ShapeError naming the file when its frame count is not a whole number of cycles (`what`: e.g. '3 orientations × 3 phases'). */
export function requireCycles(path: string, frames: number, perCycle: number, what = ''): number {
  if (frames === 0 || frames % perCycle !== 0) {
    throw new ShapeError(
      `${path}: the stack has ${frames} frames, not a multiple of ${what ? `${what} = ` : ''}${perCycle}`,
    );
  }
  return frames / perCycle;
}

/** ShapeError naming the file when its images are smaller than minPx on a side. */
export function requireMinSize(path: string, dims: { width: number; height: number }, minPx: number): void {
  if (dims.width < minPx || dims.height < minPx) {
    throw new ShapeError(
      `${path}: images of ${dims.width}×${dims.height} pixels are too small (at least ${minPx}×${minPx})`,
    );
  }
}

/**
 * Raw SIM frames as estimate and reconstruct take them: real and finite, whole cycles of
 * orientations × phases, at least the apodization's size. Returns the stack and its cycle count.
 */
export function readSimStack(
  path: string,
  p: { orientations: number; phases: number; apodizationPx: number },
): { img: ImageStack; cycles: number; perCycle: number } {
  const img = readRealStack(path, 'raw SIM frames');
  const perCycle = p.orientations * p.phases;
  const cycles = requireCycles(path, img.frames, perCycle, `${p.orientations} orientations × ${p.phases} phases`);
  requireMinSize(path, img, Math.max(16, 2 * p.apodizationPx));
  return { img, cycles, perCycle };
}

/** InputFileError naming the file when any SIM cycle (perCycle frames) holds a single value only. */
export function requireContrast(
  path: string,
  img: { data: ArrayLike<number>; width: number; height: number },
  perCycle: number,
): void {
  const cycle = img.width * img.height * perCycle;
  for (let c = 0; c * cycle < img.data.length; c++) {
    const first = img.data[c * cycle] as number;
    let flat = true;
    const end = Math.min(img.data.length, (c + 1) * cycle);
    for (let i = c * cycle + 1; i < end; i++) {
      if (img.data[i] !== first) {
        flat = false;
        break;
      }
    }
    if (flat) {
      throw new InputFileError(
        path,
        `a stack with no contrast: every pixel of cycle ${c} is ${first}, so there is no illumination pattern to fit`,
      );
    }
  }
}

/** RdlError when a computed result holds NaN/±Inf: nothing non-finite is printed or written with exit 0. */
export function requireFiniteResult(
  what: string,
  data: ArrayLike<number>,
  dims?: { width: number; height: number },
): void {
  const i = firstNonFinite(
    data instanceof Float64Array || data instanceof Float32Array ? data : Float64Array.from(data),
  );
  if (i < 0) return;
  const at = dims ? nonFiniteAt(data, dims)?.where : `${data[i]} at element ${i}`;
  throw new RdlError(
    `${what} came out non-finite (${at}); nothing was written. Please report this with the input file`,
  );
}

/** Numbers anywhere in a JSON-like value that are not finite, as dotted paths. */
export function nonFiniteFields(v: unknown, path = ''): string[] {
  if (typeof v === 'number') return Number.isFinite(v) ? [] : [`${path || 'value'} = ${v}`];
  if (Array.isArray(v)) return v.flatMap((x, i) => nonFiniteFields(x, `${path}[${i}]`));
  if (v !== null && typeof v === 'object')
    return Object.entries(v).flatMap(([k, x]) => nonFiniteFields(x, path ? `${path}.${k}` : k));
  return [];
}

/**
 * Before any work: the output's extension (.mrc/.tif), that it is not an input, that it does not
 * exist unless overwrite, and that its folder exists and is writable.
 */
export function checkOutputFile(path: string, o: { overwrite?: boolean | undefined; inputs?: string[] } = {}): void {
  outputFormat(path);
  checkOutputPath(path, o);
}

/** checkOutputFile without the extension check (any file or folder). */
export function checkOutputPath(path: string, o: { overwrite?: boolean | undefined; inputs?: string[] } = {}): void {
  for (const input of o.inputs ?? []) {
    if (resolve(input) === resolve(path))
      throw new OutputError(`refusing to overwrite the input file ${input}; choose another output path`);
  }
  if (existsSync(path) && !o.overwrite) {
    throw new OutputError(`${path} exists; choose another output name, or pass --overwrite to replace it`);
  }
  requireWritableFolder(dirname(resolve(path)), path);
}

/** OutputError when dir is missing or not writable. */
export function requireWritableFolder(dir: string, forPath: string = dir): void {
  if (!existsSync(dir)) throw new OutputError(`cannot write ${forPath}: the folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new OutputError(`cannot write ${forPath}: ${dir} is not a folder`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new OutputError(`cannot write ${forPath}: the folder ${dir} is not writable`);
  }
}

/** Runs fn; a ShapeError that does not name `path` is given its name (frame counts, sizes). */
export function naming<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ShapeError && !err.message.includes(path)) throw new ShapeError(`${path}: ${err.message}`);
    throw err;
  }
}
