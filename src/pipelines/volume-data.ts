// Light-sheet volumes for TiS-/SiS-rDL: reading stacks as [t][z][y][x] time-lapses, the
// normalization (background subtracted, clipped at 0, divided by the stack's 99.9th percentile),
// and the training data — the reference's prepared samples (<root>/train, <root>/val) or the
// user's raw acquisitions, from which random 3-D patches are cut on the fly.
//
// Axes of a file: an ImageJ hyperstack says its slices (Z) and frames (T), pages ordered slice
// fastest (page = z + Z·t, the reference's time-major order, ALGORITHMS.md §7b); any other stack is
// one volume (T = 1) unless `slices` says how many pages a volume has. A folder (without train/)
// holds one volume per time point, in name order, all of one size.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { InputFileError, ShapeError } from '../errors.js';
import { type ImageStack, readImageStack, type StackData } from '../io/stack.js';
import { MRC_EXT, TIFF_EXT } from '../io/stack-writer.js';
import type { Rng } from '../train/rng.js';

export type VolumeMode = 'tis' | 'sis';

/** The network's input patch, voxels. */
export interface Patch3d {
  z: number;
  y: number;
  x: number;
}

export interface VolumeStack {
  /** The file (or folder) it came from, for messages. */
  path: string;
  data: StackData;
  frames: number;
  depth: number;
  height: number;
  width: number;
  /** Counts subtracted before normalization. */
  background: number;
  /** Normalized value = max(0, raw − background) / scale. */
  scale: number;
  /** Mean normalized value (background-only patches are rejected against it). */
  mean: number;
  pixelSizeUm: ImageStack['pixelSizeUm'];
  /** The first file's stack (metadata for outputs). */
  first: ImageStack;
}

function isStackFile(name: string): boolean {
  const e = extname(name).toLowerCase();
  return TIFF_EXT.has(e) || MRC_EXT.has(e);
}

/** Stack files of a folder, in name order. */
export function stackFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => isStackFile(n) && statSync(join(dir, n)).isFile())
    .sort()
    .map((n) => join(dir, n));
}

/** T and Z of a stack from its ImageJ axes or `slices`. */
function axesOf(s: ImageStack, path: string, slices: number | null): { frames: number; depth: number } {
  if (slices !== null) {
    if (s.frames % slices !== 0) {
      throw new InputFileError(path, `${s.frames} pages are not a whole number of ${slices}-slice volumes (--slices)`);
    }
    return { frames: s.frames / slices, depth: slices };
  }
  const ij = s.tiff?.imagej;
  if (ij) {
    if (ij.channels > 1) {
      throw new InputFileError(
        path,
        `an ImageJ hyperstack of ${ij.channels} channels; expected one channel (ZYX or TZYX)`,
      );
    }
    if (ij.slices * ij.frames === s.frames) return { frames: ij.frames, depth: ij.slices };
  }
  return { frames: 1, depth: s.frames };
}

/** Normalization constants from a strided sample of the stack. */
function statistics(data: StackData, background: number): { scale: number; mean: number } {
  const step = Math.max(1, Math.floor(data.length / 500_000));
  const v: number[] = [];
  for (let i = 0; i < data.length; i += step) v.push(Math.max(0, (data[i] as number) - background));
  v.sort((a, b) => a - b);
  const scale = Math.max(1e-6, v[Math.min(v.length - 1, Math.floor(0.999 * v.length))] as number);
  return { scale, mean: v.reduce((a, b) => a + b, 0) / v.length / scale };
}

/** One stack file, or a folder of one volume per time point. */
export function readVolumeStack(path: string, opts: { background: number; slices?: number | null }): VolumeStack {
  const slices = opts.slices ?? null;
  if (!existsSync(path)) throw new InputFileError(path, 'no such file or folder');
  if (statSync(path).isDirectory()) {
    const files = stackFiles(path);
    if (files.length === 0) throw new InputFileError(path, 'no .tif or .mrc files in this folder');
    const first = readImageStack(files[0]!);
    const a = axesOf(first, files[0]!, slices);
    if (a.frames !== 1) {
      throw new InputFileError(
        files[0]!,
        `a time-lapse of ${a.frames} time points inside a folder of time points; expected one volume per file`,
      );
    }
    const n = first.width * first.height * first.frames;
    const data = new Float32Array(n * files.length);
    files.forEach((f, t) => {
      const s = t === 0 ? first : readImageStack(f);
      if (s.width !== first.width || s.height !== first.height || s.frames !== first.frames) {
        throw new InputFileError(
          f,
          `${s.frames}×${s.height}×${s.width} (Z×Y×X) differs from ${first.frames}×${first.height}×${first.width} of ${files[0]}; every time point of a folder must have one size`,
        );
      }
      if (s.dtype === 'complex64') throw new InputFileError(f, 'complex data; expected a real-valued stack');
      for (let i = 0; i < n; i++) data[t * n + i] = s.data[i] as number;
    });
    const st = statistics(data, opts.background);
    return {
      path,
      data,
      frames: files.length,
      depth: first.frames,
      height: first.height,
      width: first.width,
      background: opts.background,
      ...st,
      pixelSizeUm: first.pixelSizeUm,
      first,
    };
  }
  const s = readImageStack(path);
  if (s.dtype === 'complex64') throw new InputFileError(path, 'complex data; expected a real-valued stack');
  const a = axesOf(s, path, slices);
  return {
    path,
    data: s.data,
    ...a,
    height: s.height,
    width: s.width,
    background: opts.background,
    ...statistics(s.data, opts.background),
    pixelSizeUm: s.pixelSizeUm,
    first: s,
  };
}

/** Normalized voxels of time point t, slices [z0, z0 + nz), as a new [z][y][x] array. */
export function normalizedVolume(s: VolumeStack, t: number, z0 = 0, nz = s.depth): Float32Array {
  const plane = s.height * s.width;
  const from = (t * s.depth + z0) * plane;
  const out = new Float32Array(nz * plane);
  const inv = 1 / s.scale;
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, (s.data[from + i] as number) - s.background) * inv;
  return out;
}

/** A part of a stack patches are cut from: rows [y0, y1). */
export interface Region {
  stack: VolumeStack;
  y0: number;
  y1: number;
}

export interface VolumeData {
  root: string;
  layout: 'reference' | 'raw';
  train: Region[];
  val: Region[];
}

/** What a patch needs of a stack: time points and slices. */
export function patchNeeds(mode: VolumeMode, patch: Patch3d, channels: number): { frames: number; slices: number } {
  return mode === 'sis' ? { frames: 1, slices: 2 * patch.z } : { frames: 2 * channels, slices: patch.z };
}

function checkStack(s: VolumeStack, mode: VolumeMode, patch: Patch3d, channels: number, rows: number): void {
  const need = patchNeeds(mode, patch, channels);
  if (s.depth < need.slices) {
    throw new ShapeError(
      `${s.path}: ${mode === 'sis' ? `SiS needs 2 × ${patch.z} slices per patch (even slices in, odd ones as the target)` : `TiS needs ${patch.z} slices per patch`}, found ${s.depth} slice${s.depth === 1 ? ' (a 2D image)' : 's'}; lower --patch Z or give volumes`,
    );
  }
  if (s.frames < need.frames) {
    throw new ShapeError(
      `${s.path}: TiS with --channels ${channels} needs ${need.frames} time points (${channels} in, ${channels} as the target), found ${s.frames}; give a TZYX hyperstack or a folder of time points, or lower --channels`,
    );
  }
  if (rows < patch.y || s.width < patch.x) {
    throw new ShapeError(
      `${s.path}: ${s.height}×${s.width} (Y×X) is too small for --patch ${patch.z},${patch.y},${patch.x}${rows < s.height ? ' with a held-out validation part (the last 15% of rows, at least one patch)' : ''}`,
    );
  }
}

/**
 * The training data at `paths`: a folder with train/ (and val/) in the reference's layout, or raw
 * stacks/folders whose last 15% of rows (at least one patch) are held out for validation.
 */
export function openVolumeData(
  paths: readonly string[],
  mode: VolumeMode,
  patch: Patch3d,
  channels: number,
  opts: { background: number; slices?: number | null },
): VolumeData {
  const first = paths[0];
  if (first === undefined) throw new InputFileError('<data>', 'no data given');
  if (paths.length === 1 && existsSync(join(first, 'train')) && statSync(join(first, 'train')).isDirectory()) {
    const need = patchNeeds(mode, patch, channels);
    const samples = (dir: string): Region[] => {
      if (!existsSync(dir)) return [];
      return stackFiles(dir).map((f) => {
        const s = readImageStack(f);
        // A sample's pages: SiS 2Z slices; TiS 2C time points × Z slices, time-major (§7b).
        const slices = mode === 'sis' ? s.frames : s.frames / need.frames;
        if (!Number.isInteger(slices)) {
          throw new InputFileError(
            f,
            `${s.frames} pages are not ${need.frames} time points of equal depth (--channels ${channels})`,
          );
        }
        const v = readVolumeStack(f, { ...opts, slices });
        checkStack(v, mode, patch, channels, v.height);
        return { stack: v, y0: 0, y1: v.height };
      });
    };
    const train = samples(join(first, 'train'));
    if (train.length === 0) throw new InputFileError(join(first, 'train'), 'no .tif or .mrc samples');
    const val = samples(join(first, 'val'));
    return { root: first, layout: 'reference', train, val: val.length > 0 ? val : train.slice(0, 1) };
  }
  const train: Region[] = [];
  const val: Region[] = [];
  for (const p of paths) {
    const s = readVolumeStack(p, opts);
    const held = Math.max(patch.y, Math.round(0.15 * s.height));
    checkStack(s, mode, patch, channels, s.height - held);
    train.push({ stack: s, y0: 0, y1: s.height - held });
    val.push({ stack: s, y0: s.height - held, y1: s.height });
  }
  return { root: paths.join(', '), layout: 'raw', train, val };
}

/** Where a patch is cut. */
export interface PatchAt {
  region: Region;
  t: number;
  z: number;
  y: number;
  x: number;
  flipY: boolean;
  flipX: boolean;
}

/** A cut patch: input and target [c][z][y][x] (c = 1 for SiS), and for SiS the full 2Z stack. */
export interface VolumePatch {
  input: Float32Array;
  target: Float32Array;
  full: Float32Array | null;
}

/** A random position in a region (no flips: drawn by the caller). */
export function randomPatchAt(r: Region, mode: VolumeMode, patch: Patch3d, channels: number, rng: Rng): PatchAt {
  const s = r.stack;
  const need = patchNeeds(mode, patch, channels);
  return {
    region: r,
    t: rng.int(0, s.frames - need.frames),
    z: rng.int(0, s.depth - need.slices),
    y: rng.int(r.y0, r.y1 - patch.y),
    x: rng.int(0, s.width - patch.x),
    flipY: false,
    flipX: false,
  };
}

/** Cuts a patch: SiS even slices in, odd as the target; TiS even time points in, odd as the target. */
export function cutPatch(at: PatchAt, mode: VolumeMode, patch: Patch3d, channels: number): VolumePatch {
  const s = at.region.stack;
  const { z: pz, y: py, x: px } = patch;
  const plane = py * px;
  const inv = 1 / s.scale;
  // [time][slice] → one plane of the patch.
  const copy = (t: number, z: number, out: Float32Array, at0: number) => {
    const base = (t * s.depth + z) * s.height * s.width;
    for (let y = 0; y < py; y++) {
      const sy = at.y + (at.flipY ? py - 1 - y : y);
      const row = base + sy * s.width + at.x;
      for (let x = 0; x < px; x++) {
        const v = (s.data[row + (at.flipX ? px - 1 - x : x)] as number) - s.background;
        out[at0 + y * px + x] = v > 0 ? v * inv : 0;
      }
    }
  };
  if (mode === 'sis') {
    const full = new Float32Array(2 * pz * plane);
    for (let z = 0; z < 2 * pz; z++) copy(at.t, at.z + z, full, z * plane);
    const input = new Float32Array(pz * plane);
    const target = new Float32Array(pz * plane);
    for (let z = 0; z < pz; z++) {
      input.set(full.subarray(2 * z * plane, (2 * z + 1) * plane), z * plane);
      target.set(full.subarray((2 * z + 1) * plane, (2 * z + 2) * plane), z * plane);
    }
    return { input, target, full };
  }
  const vol = pz * plane;
  const input = new Float32Array(channels * vol);
  const target = new Float32Array(channels * vol);
  for (let c = 0; c < channels; c++) {
    for (let z = 0; z < pz; z++) {
      copy(at.t + 2 * c, at.z + z, input, c * vol + z * plane);
      copy(at.t + 2 * c + 1, at.z + z, target, c * vol + z * plane);
    }
  }
  return { input, target, full: null };
}

/**
 * A random training patch with random y/x flips; patches whose mean is below half the stack's
 * mean (background only) are redrawn, up to 10 times (the brightest draw is kept).
 */
export function randomPatch(
  data: VolumeData,
  mode: VolumeMode,
  patch: Patch3d,
  channels: number,
  rng: Rng,
): VolumePatch {
  let best: VolumePatch | null = null;
  let bestMean = -1;
  for (let i = 0; i < 10; i++) {
    const r = data.train[rng.int(0, data.train.length - 1)]!;
    const at = { ...randomPatchAt(r, mode, patch, channels, rng), flipY: rng.next() < 0.5, flipX: rng.next() < 0.5 };
    const p = cutPatch(at, mode, patch, channels);
    let m = 0;
    for (const v of p.input) m += v;
    m /= p.input.length;
    if (m > bestMean) {
      best = p;
      bestMean = m;
    }
    if (m >= 0.5 * r.stack.mean) break;
  }
  return best!;
}
