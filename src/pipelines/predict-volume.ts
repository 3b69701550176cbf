// `rdl predict volume`: TiS-/SiS-rDL inference on light-sheet stacks, one volume (TiS: one window
// of C time points) at a time, as the reference's predict_rDL_TiS_SiS_Denoising.py: subtract the
// background (100 counts by default), clip at 0, normalize (here by the stack's 99.9th percentile,
// the same rule as training), predict — in overlapping 3-D tiles when the volume is larger than the
// tile (tiles3d.ts) — and write the result in counts above background (uint16 by default, ImageJ
// axes kept). Beyond the reference: test-time flip averaging (`pair` by default; see tiles3d.ts).
import { existsSync, statSync } from 'node:fs';
import { setDefaultDevice } from '../engine/index.js';
import { InputFileError, ParameterError, ShapeError } from '../errors.js';
import type { ImageStack } from '../io/stack.js';
import { openStackReader, type StackReader } from '../io/stack-reader.js';
import { openStackWriter } from '../io/stack-writer.js';
import { loadModelOfKind } from '../models/folder.js';
import { RCAN3D } from '../models/rcan3d.js';
import { type Dims3d, type FlipAveraging, flipSets, predictTiled, tilePredictor } from './tiles3d.js';
import { trainedMode } from './train-volume.js';
import { stackFiles, type VolumeMode } from './volume-data.js';

/**
 * uint16 output: the normalized prediction × 10,000 (the stack's 99.9th percentile above background
 * ↦ 10,000), as the reference writes 1e4 × its normalized output; counts of dim light-sheet data
 * (tens of photons) would lose their precision to rounding. float32 output is in counts above background.
 */
export const UINT16_GAIN = 10_000;

export interface PredictVolumeJob {
  input: string;
  model: string;
  output: string;
  background: number;
  /** Pages per volume of stacks without ImageJ axes (null: from the file). */
  slices: number | null;
  tile: Dims3d;
  /** Overlap of neighbouring tiles per axis (default half the tile in z, a quarter in y and x). */
  overlap?: Dims3d;
  flips: FlipAveraging;
  dtype: 'uint16' | 'float32';
  device: string;
  /** Force TiS or SiS (default: the model folder's training, else 1 channel = SiS). */
  mode?: VolumeMode;
  onProgress?: (volumesDone: number, volumes: number) => void;
}

export interface PredictVolumeResult {
  mode: VolumeMode;
  frames: number;
  depth: number;
  height: number;
  width: number;
  /** The normalization divisor (counts above background). */
  scale: number;
}

/** A time-lapse read one time point at a time: a stack file or a folder of one volume per file. */
interface VolumeSource {
  frames: number;
  depth: number;
  height: number;
  width: number;
  pixelSizeUm: ImageStack['pixelSizeUm'];
  /** Raw voxels of time point t, [z][y][x]. */
  read(t: number): ArrayLike<number>;
  close(): void;
}

function openSource(path: string, slices: number | null): VolumeSource {
  if (!existsSync(path)) throw new InputFileError(path, 'no such file or folder');
  if (statSync(path).isDirectory()) {
    const files = stackFiles(path);
    if (files.length === 0) throw new InputFileError(path, 'no .tif or .mrc files in this folder');
    const readers: StackReader[] = [];
    try {
      for (const f of files) readers.push(openStackReader(f));
    } catch (err) {
      for (const r of readers) r.close();
      throw err;
    }
    const a = readers[0]!.info;
    for (const [i, r] of readers.entries()) {
      const b = r.info;
      if (b.width !== a.width || b.height !== a.height || b.frames !== a.frames) {
        for (const q of readers) q.close();
        throw new InputFileError(
          files[i]!,
          `${b.frames}×${b.height}×${b.width} (Z×Y×X) differs from ${a.frames}×${a.height}×${a.width} of ${files[0]}; every time point of a folder must have one size`,
        );
      }
    }
    return {
      frames: files.length,
      depth: a.frames,
      height: a.height,
      width: a.width,
      pixelSizeUm: a.pixelSizeUm,
      read: (t) => readers[t]!.read(0, a.frames).data,
      close: () => {
        for (const r of readers) r.close();
      },
    };
  }
  const r = openStackReader(path);
  const info = r.info;
  let frames = 1;
  let depth = info.frames;
  const ij = info.tiff?.imagej;
  if (slices !== null) {
    if (info.frames % slices !== 0) {
      r.close();
      throw new InputFileError(
        path,
        `${info.frames} pages are not a whole number of ${slices}-slice volumes (--slices)`,
      );
    }
    depth = slices;
    frames = info.frames / slices;
  } else if (ij && ij.channels === 1 && ij.slices * ij.frames === info.frames) {
    depth = ij.slices;
    frames = ij.frames;
  } else if (ij && ij.channels > 1) {
    r.close();
    throw new InputFileError(
      path,
      `an ImageJ hyperstack of ${ij.channels} channels; expected one channel (ZYX or TZYX)`,
    );
  }
  if (info.dtype === 'complex64') {
    r.close();
    throw new InputFileError(path, 'complex data; expected a real-valued stack');
  }
  return {
    frames,
    depth,
    height: info.height,
    width: info.width,
    pixelSizeUm: info.pixelSizeUm,
    read: (t) => r.read(t * depth, (t + 1) * depth).data,
    close: () => r.close(),
  };
}

/** The 99.9th percentile above background over up to three time points (first, middle, last). */
function stackScale(src: VolumeSource, background: number): number {
  const ts = [...new Set([0, Math.floor(src.frames / 2), src.frames - 1])];
  const v: number[] = [];
  for (const t of ts) {
    const d = src.read(t);
    const step = Math.max(1, Math.floor(d.length / 300_000));
    for (let i = 0; i < d.length; i += step) v.push(Math.max(0, (d[i] as number) - background));
  }
  v.sort((a, b) => a - b);
  return Math.max(1e-6, v[Math.min(v.length - 1, Math.floor(0.999 * v.length))] as number);
}

export async function predictVolume(job: PredictVolumeJob): Promise<PredictVolumeResult> {
  for (const v of [job.tile.z, job.tile.y, job.tile.x]) {
    if (!Number.isInteger(v) || v < 4) throw new ParameterError('--tile', 'Z,Y,X of at least 4 voxels each', job.tile);
  }
  setDefaultDevice(job.device);
  const model = await loadModelOfKind(job.model, 'rcan3d', '--model');
  let src: VolumeSource | null = null;
  try {
    if (!(model instanceof RCAN3D)) throw new InputFileError(job.model, '--model: not an RCAN3D');
    const c = model.config.channels;
    const mode: VolumeMode = job.mode ?? trainedMode(job.model) ?? (c === 1 ? 'sis' : 'tis');
    if (mode === 'sis' && c !== 1) {
      throw new InputFileError(job.model, `--model: a ${c}-channel (TiS) network cannot run as SiS`);
    }
    src = openSource(job.input, job.slices);
    const { frames: T, depth: Z, height: H, width: W } = src;
    if (Z < 2) {
      throw new ShapeError(`${job.input}: ${Z} slice per volume (a 2D image); light-sheet denoising needs ZYX volumes`);
    }
    if (mode === 'tis' && T < c) {
      throw new ShapeError(
        `${job.input}: this TiS model takes ${c} time points at once, found ${T}; give a TZYX hyperstack (or a folder of time points) of at least ${c}`,
      );
    }
    const scale = stackScale(src, job.background);
    const tile = job.tile;
    // Half the tile in z (volumes are shallow and z-padding errors reach far), a quarter in y, x.
    const overlap = job.overlap ?? {
      z: Math.floor(tile.z / 2),
      y: Math.floor(tile.y / 4),
      x: Math.floor(tile.x / 4),
    };
    const channels = mode === 'tis' ? c : 1;
    const predict = tilePredictor((x) => model.forward(x), channels, flipSets(mode, job.flips), job.device);
    const plane = H * W;
    const n = Z * plane;
    const writer = openStackWriter(job.output, { width: W, height: H, frames: T * Z }, job.dtype, {
      pixelSizeUm: src.pixelSizeUm,
      tiffAxes: { slices: Z, frames: T },
      inputs: [job.input, job.model],
    });
    try {
      const normalized = (t: number, into: Float32Array, at: number) => {
        const d = src!.read(t);
        const inv = 1 / scale;
        for (let i = 0; i < n; i++) {
          const v = (d[i] as number) - job.background;
          into[at + i] = v > 0 ? v * inv : 0;
        }
      };
      const emit = (vol: Float32Array, from: number) => {
        if (job.dtype === 'float32') {
          const o = new Float32Array(n);
          for (let i = 0; i < n; i++) o[i] = Math.max(0, vol[from + i] as number) * scale;
          writer.write(o);
        } else {
          const o = new Uint16Array(n);
          for (let i = 0; i < n; i++)
            o[i] = Math.min(65535, Math.max(0, Math.round((vol[from + i] as number) * UINT16_GAIN)));
          writer.write(o);
        }
      };
      const dims = { z: Z, y: H, x: W };
      if (mode === 'sis') {
        const vol = new Float32Array(n);
        for (let t = 0; t < T; t++) {
          normalized(t, vol, 0);
          emit(predictTiled(vol, 1, dims, tile, overlap, predict), 0);
          job.onProgress?.(t + 1, T);
          await new Promise((r) => setImmediate(r));
        }
      } else {
        // Windows of C consecutive time points; the last one flush with the end (only its new time points written).
        const vol = new Float32Array(c * n);
        let written = 0;
        while (written < T) {
          const start = Math.min(written, T - c);
          for (let k = 0; k < c; k++) normalized(start + k, vol, k * n);
          const out = predictTiled(vol, c, dims, tile, overlap, predict);
          for (let k = written - start; k < c; k++) emit(out, k * n);
          written = start + c;
          job.onProgress?.(written, T);
          await new Promise((r) => setImmediate(r));
        }
      }
      writer.commit();
    } finally {
      writer.abort();
    }
    return { mode, frames: T, depth: Z, height: H, width: W, scale };
  } finally {
    src?.close();
    model.dispose();
  }
}
