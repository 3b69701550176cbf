// Host-side array work of batch preparation: patches, the reference's min–max normalization,
// and the scores of validation images.
import { type Tensor, tensor, tidy } from '../engine/index.js';
import { fidelity } from '../metrics/index.js';
import type { PanelImage } from './panels.js';
import type { Rng } from './rng.js';

/** Where a patch is cut: top-left corner (px of the input grid) and side. */
export interface Crop {
  x: number;
  y: number;
  side: number;
}

/** A random patch of `side` px (the whole sample when side is null), drawn from rng. */
export function randomCrop(width: number, height: number, side: number | null, rng: Rng): Crop {
  if (side === null || (side >= width && side >= height)) return { x: 0, y: 0, side: Math.min(width, height) };
  return { x: rng.int(0, width - side), y: rng.int(0, height - side), side };
}

/** The central patch (validation: the same pixels every time). */
export function centerCrop(width: number, height: number, side: number | null): Crop {
  const s = side === null ? Math.min(width, height) : Math.min(side, width, height);
  return { x: Math.floor((width - s) / 2), y: Math.floor((height - s) / 2), side: s };
}

/** Cuts the patch (scaled by `scale` for a 2× target) out of every frame of [frames][h][w] data. */
export function cropFrames(data: Float32Array, width: number, height: number, c: Crop, scale = 1): Float32Array {
  const w = width * scale;
  const side = c.side * scale;
  const frames = data.length / (w * height * scale);
  const out = new Float32Array(frames * side * side);
  for (let f = 0; f < frames; f++) {
    for (let y = 0; y < side; y++) {
      const from = f * w * height * scale + (c.y * scale + y) * w + c.x * scale;
      out.set(data.subarray(from, from + side), (f * side + y) * side);
    }
  }
  return out;
}

/** The reference's prctile_norm (0th/100th percentiles): (v − min)/(max − min + 1e-7), in place. */
export function minMaxInPlace(a: Float32Array): Float32Array {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of a) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const s = 1 / (hi - lo + 1e-7);
  for (let i = 0; i < a.length; i++) a[i] = ((a[i] as number) - lo) * s;
  return a;
}

/** Concatenates equally sized arrays. */
export function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface Scores {
  mse: number;
  nrmse: number;
  psnr: number;
  ssim: number;
}

/**
 * Mean scores of output images against their targets, [n, h, w] each: every image min–max
 * normalized to [0, 1] first (data range 1), SSIM with an 11×11 Gaussian window (σ 1.5), as the
 * reference's cal_comp does image by image.
 */
export function scoreImages(target: Tensor, output: Tensor): Scores[] {
  return tidy(() => {
    const n = target.dim(0);
    const out: Scores[] = [];
    for (let i = 0; i < n; i++) out.push(fidelity(target.select(0, i), output.select(0, i)));
    return out;
  });
}

export function meanScores(all: readonly Scores[]): Scores {
  const m = (k: keyof Scores) => all.reduce((a, s) => a + s[k], 0) / Math.max(1, all.length);
  return { mse: m('mse'), nrmse: m('nrmse'), psnr: m('psnr'), ssim: m('ssim') };
}

export function panelImage(t: Tensor): PanelImage {
  return { data: t.toFloat32Array(), width: t.dim(-1), height: t.dim(-2) };
}

export function toDevice(data: Float32Array, shape: number[], device: string): Tensor {
  return tensor(data, shape, { device });
}
