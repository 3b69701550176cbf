// The rDL pipeline on one raw SIM cycle, as `rdl train denoise` prepares its samples, so a model
// sees at prediction what it saw in training (ALGORITHMS.md §4, §7):
//   1. the cycle's 9 frames min–max normalized together;
//   2. the SR module (DFCAN) on the normalized cycle, in the file's frame order;
//   3. its output min–max normalized, brought to the raw grid, and the 9 pattern-modulated images
//      (MPE) made from it, the fitted patterns and the OTF, normalized jointly;
//   4. the normalized frames equalized (each orientation scaled to orientation 0's mean);
//   5. the denoiser per orientation (3 phases as channels), the 3 orientations as one batch;
//   6. equalization undone and the output mapped onto the input's counts (least squares, per cycle);
//   7. (--keep-low-frequencies) each output frame's lowest frequencies replaced by the input's.
// The reference's predict script differs from its own training script in steps 1 and 3 (input
// divided by 65535, MPE normalized per frame); we follow the training, which the weights learned.
//
// Step 7, why: a denoiser trained with MPE can learn a per-phase brightness bias (measured −8 to
// +6 % of a frame's mean, ALGORITHMS.md §7d). Band separation turns unequal phase means into
// low-frequency errors in the SR image. Below a small fraction of the detection cutoff kc the raw
// frames carry almost no noise that matters (the signal is strongest there), so taking those
// frequencies from the input removes the bias and costs nothing in noise.
//
// Large images go through the networks in overlapping tiles (tiles.ts): the SR output is blended
// into one image before its normalization and the MPE, so both see the whole field as without tiles.
import { fft, noGrad, tensor, tidy } from '../engine/index.js';
import type { RdlDenoiser } from '../models/denoiser.js';
import type { DFCAN } from '../models/dfcan.js';
import { equalizationFactors } from '../sim/equalize.js';
import { generateMpe } from '../sim/mpe.js';
import { type OtfTable, radiusGrid } from '../sim/otf.js';
import { frameIndex, type SimParameters } from '../sim/params.js';
import { type PatternParams, srToRawGrid } from '../sim/pattern.js';
import { cutTile, planTiles, TileBlender } from './tiles.js';

/** Added to the range as the reference's prctile_norm does, so a flat cycle does not divide by 0. */
const NORM_EPS = 1e-7;

export interface RdlModels {
  sr: DFCAN;
  denoiser: RdlDenoiser;
}

export interface CycleOptions {
  /** Largest tile side through the networks, raw pixels. */
  tile: number;
  /** Overlap of neighbouring tiles, raw pixels. */
  overlap: number;
  /**
   * Frequencies below this fraction of the detection cutoff are taken from the input frame
   * (0: off). The taper runs from 0.75× to 1.25× the radius, so the mean is always restored.
   */
  keepLowFrequencies: number;
  /** Detection cutoff kc, cycles/µm. */
  cutoffPerUm: number;
  device: string;
}

export interface DenoisedCycle {
  /** [9][H][W] in the file's frame order, on the input's scale. */
  frames: Float32Array;
  /** Per frame (file order): mean of the network's output / mean of the input frame, before step 7. */
  meanRatios: number[];
}

/** The frames of one cycle from the file's order to orientation-major, or back. */
export function reorderFrames(
  frames: Float32Array,
  p: SimParameters,
  plane: number,
  to: 'orientation-major' | 'file',
): Float32Array {
  if (p.frameOrder === 'orientation-major') return frames;
  const out = new Float32Array(frames.length);
  for (let d = 0; d < p.orientations; d++) {
    for (let j = 0; j < p.phases; j++) {
      const file = frameIndex(p, d, j) * plane;
      const om = (d * p.phases + j) * plane;
      if (to === 'orientation-major') out.set(frames.subarray(file, file + plane), om);
      else out.set(frames.subarray(om, om + plane), file);
    }
  }
  return out;
}

function minMax(x: Float32Array): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/**
 * Denoises one cycle: raw [9][H][W] in the file's frame order (counts), the orientations' fitted
 * patterns (phase origin at the image centre), the OTF table for the H × W grid.
 */
export function denoiseCycle(
  raw: Float32Array,
  height: number,
  width: number,
  patterns: readonly PatternParams[],
  models: RdlModels,
  p: SimParameters,
  table: OtfTable,
  o: CycleOptions,
): DenoisedCycle {
  const D = p.orientations;
  const P = p.phases;
  const N = D * P;
  const plane = height * width;
  const [lo, hi] = minMax(raw);
  const range = hi - lo + NORM_EPS;
  const normalized = Float32Array.from(raw, (v) => (v - lo) / range);
  const tiles = planTiles(width, height, o.tile, o.overlap);
  const device = o.device;
  const { sr, denoiser } = models;
  sr.eval();
  denoiser.eval();

  // 2. SR module, tile by tile, blended on the 2× grid.
  const s = sr.config.scale;
  const srBlend = new TileBlender(1, width, height, s, o.overlap);
  for (const t of tiles) {
    const x = cutTile(normalized, N, width, height, t);
    const out = noGrad(() => tidy(() => sr.forward(tensor(x, [1, N, t.height, t.width], { device })).toFloat32Array()));
    srBlend.add(t, out);
  }
  const srImage = srBlend.result();

  const om = reorderFrames(normalized, p, plane, 'orientation-major');
  // 3–4. MPE on the whole field; equalization factors of the whole field.
  const { mpe, factors } = noGrad(() =>
    tidy(() => {
      const srT = tensor(srImage, [height * s, width * s], { device });
      const m = generateMpe(srToRawGrid(srT, height, width), patterns, P, table, p.pixelSizeUm, {
        normalization: 'joint',
      });
      const f = equalizationFactors(tensor(om, [D, P, height, width], { device }));
      return { mpe: m.toFloat32Array(), factors: f };
    }),
  );
  const equalized = Float32Array.from(om, (v, i) => v * factors[Math.floor(i / (P * plane))]!);

  // 5. Denoiser, tile by tile: the orientations as a batch, phases as channels.
  const dnBlend = new TileBlender(N, width, height, 1, o.overlap);
  for (const t of tiles) {
    const m = cutTile(mpe, N, width, height, t);
    const x = cutTile(equalized, N, width, height, t);
    const out = noGrad(() =>
      tidy(() => {
        const shape = [D, P, t.height, t.width];
        return denoiser.forward(tensor(m, shape, { device }), tensor(x, shape, { device })).toFloat32Array();
      }),
    );
    dnBlend.add(t, out);
  }
  const denoised = dnBlend.result();

  // 6. Back to the input's scale: equalization undone per orientation, then one affine map
  // a·v + b for the whole cycle, fitted by least squares to the input frames. The network's output
  // lives in its training target's normalization (the high-SNR frames' own min and max), which the
  // noisy input's min and max do not give; the input's noise is zero-mean, so the fit recovers the
  // counts without bias.
  for (let i = 0; i < denoised.length; i++) denoised[i] = denoised[i]! / factors[Math.floor(i / (P * plane))]!;
  const [a, b] = affineFit(denoised, om);
  for (let i = 0; i < denoised.length; i++) denoised[i] = (a * denoised[i]! + b) * range + lo;
  const out = reorderFrames(denoised, p, plane, 'file');
  const inputMeans = frameMeans(raw, N, plane);
  const meanRatios = frameMeans(out, N, plane).map((m, f) => m / inputMeans[f]!);

  // 7. Lowest frequencies from the input.
  const frames = o.keepLowFrequencies > 0 ? keepLowFrequencies(out, raw, height, width, p, o) : out;
  return { frames, meanRatios };
}

/** [a, b] minimising Σ (a·v + b − x)²; a = 1, b = mean offset when v is flat. */
function affineFit(v: Float32Array, x: Float32Array): [number, number] {
  let sv = 0;
  let sx = 0;
  for (let i = 0; i < v.length; i++) {
    sv += v[i]!;
    sx += x[i]!;
  }
  const mv = sv / v.length;
  const mx = sx / v.length;
  let cov = 0;
  let varV = 0;
  for (let i = 0; i < v.length; i++) {
    const dv = v[i]! - mv;
    cov += dv * (x[i]! - mx);
    varV += dv * dv;
  }
  const a = varV > 0 ? cov / varV : 1;
  return [a, mx - a * mv];
}

function frameMeans(x: Float32Array, frames: number, plane: number): number[] {
  return Array.from({ length: frames }, (_, f) => {
    let sum = 0;
    for (let i = f * plane; i < (f + 1) * plane; i++) sum += x[i]!;
    return sum / plane;
  });
}

/** out + lowpass(input − out), the low-pass a cos² taper from 0.75 r to 1.25 r, r = fraction · kc. */
export function keepLowFrequencies(
  out: Float32Array,
  input: Float32Array,
  height: number,
  width: number,
  p: SimParameters,
  o: Pick<CycleOptions, 'keepLowFrequencies' | 'cutoffPerUm' | 'device'>,
): Float32Array {
  const frames = out.length / (height * width);
  const r = o.keepLowFrequencies * o.cutoffPerUm;
  return noGrad(() =>
    tidy(() => {
      const q = radiusGrid({ height, width, pixelSizeUm: p.pixelSizeUm }, 'fft', { device: o.device });
      // 1 below 0.75 r, 0 above 1.25 r, cos² between.
      const t = q
        .sub(0.75 * r)
        .div(0.5 * r)
        .clamp(0, 1)
        .mul(Math.PI / 2)
        .cos()
        .square();
      const a = tensor(out, [frames, height, width], { device: o.device });
      const b = tensor(input, [frames, height, width], { device: o.device });
      const diff = fft.fft2(b.sub(a));
      const low = fft.ifft2(diff.mul(t)).real();
      return a.add(low).toFloat32Array();
    }),
  );
}
