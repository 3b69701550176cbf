// Illumination patterns and the min–max normalisation the reference applies everywhere.
import { F, meshgrid, stack, type Tensor, tensor, tidy } from '../engine/index.js';
import { ShapeError } from '../errors.js';
import type { ImageGrid } from './grid.js';
import type { TensorOptions } from './otf.js';

/** What a pattern needs of an orientation's estimate. */
export interface PatternParams {
  /** Pattern vector, cycles/µm, [kx, ky] (x = column axis). */
  k0PerUm: [number, number];
  /** φ0, rad, origin at pixel (H/2, W/2). */
  phaseRad: number;
}

/**
 * The reference's prctile_norm with its defaults: (v − min)/(max − min + 1e-7) over the given
 * dims (all by default).
 */
export function minMaxNormalize(t: Tensor, dims?: number[]): Tensor {
  return tidy(() => {
    const lo = dims === undefined ? t.min() : t.min(dims, true);
    const hi = dims === undefined ? t.max() : t.max(dims, true);
    return t.sub(lo).div(hi.sub(lo).add(1e-7));
  });
}

/**
 * Patterns [orientations, phases, y, x]: |e^{i(πk·r + φ0 + j·2π/P)} + e^{−iπk·r}|² =
 * 2 + 2cos(2πk0·r + φ0 + j·2π/P), r = ((x − W/2)·dx, (y − H/2)·dx) µm, each frame min–max
 * normalised over its samples as the reference does (so not exactly (1 + cos)/2 on a finite grid).
 */
export function patterns(
  orients: readonly PatternParams[],
  phases: number,
  grid: ImageGrid,
  o: TensorOptions = {},
): Tensor {
  return tidy(() => {
    const opts = { dtype: o.dtype ?? 'float32', device: o.device };
    const xs = new Float64Array(grid.width);
    const ys = new Float64Array(grid.height);
    for (let x = 0; x < grid.width; x++) xs[x] = (x - grid.width / 2) * grid.pixelSizeUm;
    for (let y = 0; y < grid.height; y++) ys[y] = (y - grid.height / 2) * grid.pixelSizeUm;
    const [Y, X] = meshgrid(
      tensor(ys, [grid.height], { ...opts, dtype: 'float64' }),
      tensor(xs, [grid.width], { ...opts, dtype: 'float64' }),
    ) as [Tensor, Tensor];
    const frames: Tensor[] = [];
    for (const p of orients) {
      // The fringe phase in float64: 2π·k·r reaches ~300 rad at the edge of a 256² image.
      const arg = X.mul(2 * Math.PI * p.k0PerUm[0]).add(Y.mul(2 * Math.PI * p.k0PerUm[1]));
      for (let j = 0; j < phases; j++) {
        const raw = arg
          .add(p.phaseRad + (j * 2 * Math.PI) / phases)
          .cos()
          .mul(2)
          .add(2);
        frames.push(minMaxNormalize(raw).to(opts.dtype));
      }
    }
    return stack(frames).reshape([orients.length, phases, grid.height, grid.width]);
  });
}

/**
 * The SR estimate on the raw grid, as the reference prepares it: min–max normalised, then resized
 * to height × width. At exactly half size OpenCV's bilinear resize (the reference's) is a plain
 * 2×2 block mean; other sizes use bilinear interpolation with half-pixel centres.
 */
export function srToRawGrid(sr: Tensor, height: number, width: number): Tensor {
  if (sr.rank !== 2) throw new ShapeError(`the SR image must be 2D [y, x], found shape [${sr.shape}]`);
  return tidy(() => {
    const n = minMaxNormalize(sr).reshape([1, 1, sr.dim(0), sr.dim(1)]);
    const half = sr.dim(0) === 2 * height && sr.dim(1) === 2 * width;
    const same = sr.dim(0) === height && sr.dim(1) === width;
    const out = same ? n : half ? F.avgPool2d(n, 2) : F.interpolate(n, [height, width], 'bilinear');
    return out.reshape([height, width]);
  });
}
