// 3-D tiled prediction for volumes larger than a tile: tiles on a regular grid with overlap, each
// blended with a separable weight that ramps linearly over the overlap (1 at the volume's own
// borders), so seams vanish. Because the weight is a product of per-axis weights and the tiles
// form a grid, the weight sum is separable too: only the output accumulator is volume-sized.
// Also the test-time flip averaging of TiS-/SiS-rDL (see README "Light-sheet denoising").
import { noGrad, type Tensor, tensor, tidy } from '../engine/index.js';

/** Tile starts along one axis of length n: step tile − overlap, the last tile flush with the end. */
export function tileStarts(n: number, tile: number, overlap: number): number[] {
  if (tile >= n) return [0];
  const step = Math.max(1, tile - overlap);
  const out: number[] = [];
  for (let s = 0; s + tile < n; s += step) out.push(s);
  out.push(n - tile);
  return out;
}

/** Blend weight of position i of a tile [start, start + size) within an axis of length n. */
function axisWeights(n: number, start: number, size: number, overlap: number): Float32Array {
  const w = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const lo = start === 0 ? 1 : (i + 0.5) / Math.max(1, overlap);
    const hi = start + size === n ? 1 : (size - i - 0.5) / Math.max(1, overlap);
    w[i] = Math.max(1e-3, Math.min(1, lo, hi));
  }
  return w;
}

export interface Dims3d {
  z: number;
  y: number;
  x: number;
}

/**
 * Runs `predict` on every tile of a [c][z][y][x] volume and blends the results: predict gets a
 * [c][tz][ty][tx] tile and returns one of the same shape. tile: the largest tile (clipped to the
 * volume); overlap per axis.
 */
export function predictTiled(
  volume: Float32Array,
  channels: number,
  dims: Dims3d,
  tile: Dims3d,
  overlap: Dims3d,
  predict: (t: Float32Array, d: Dims3d) => Float32Array,
  onTile?: (done: number, total: number) => void,
): Float32Array {
  const t = { z: Math.min(tile.z, dims.z), y: Math.min(tile.y, dims.y), x: Math.min(tile.x, dims.x) };
  const starts = {
    z: tileStarts(dims.z, t.z, overlap.z),
    y: tileStarts(dims.y, t.y, overlap.y),
    x: tileStarts(dims.x, t.x, overlap.x),
  };
  const n = dims.z * dims.y * dims.x;
  if (starts.z.length * starts.y.length * starts.x.length === 1) {
    onTile?.(1, 1);
    return predict(volume, dims);
  }
  const out = new Float32Array(channels * n);
  const sums = { z: new Float32Array(dims.z), y: new Float32Array(dims.y), x: new Float32Array(dims.x) };
  const weights = (axis: 'z' | 'y' | 'x') =>
    starts[axis].map((s) => {
      const w = axisWeights(dims[axis], s, t[axis], overlap[axis]);
      for (let i = 0; i < w.length; i++) sums[axis][s + i] = (sums[axis][s + i] as number) + (w[i] as number);
      return w;
    });
  const wz = weights('z');
  const wy = weights('y');
  const wx = weights('x');
  const tn = t.z * t.y * t.x;
  const buf = new Float32Array(channels * tn);
  const total = starts.z.length * starts.y.length * starts.x.length;
  let done = 0;
  starts.z.forEach((z0, iz) => {
    starts.y.forEach((y0, iy) => {
      starts.x.forEach((x0, ix) => {
        for (let c = 0; c < channels; c++)
          for (let z = 0; z < t.z; z++)
            for (let y = 0; y < t.y; y++) {
              const from = ((c * dims.z + z0 + z) * dims.y + y0 + y) * dims.x + x0;
              buf.set(volume.subarray(from, from + t.x), ((c * t.z + z) * t.y + y) * t.x);
            }
        const p = predict(buf, t);
        for (let c = 0; c < channels; c++)
          for (let z = 0; z < t.z; z++) {
            const a = wz[iz]![z] as number;
            for (let y = 0; y < t.y; y++) {
              const b = a * (wy[iy]![y] as number);
              const to = ((c * dims.z + z0 + z) * dims.y + y0 + y) * dims.x + x0;
              const from = ((c * t.z + z) * t.y + y) * t.x;
              const w = wx[ix]!;
              for (let x = 0; x < t.x; x++)
                out[to + x] = (out[to + x] as number) + b * (w[x] as number) * (p[from + x] as number);
            }
          }
        onTile?.(++done, total);
      });
    });
  });
  for (let c = 0; c < channels; c++)
    for (let z = 0; z < dims.z; z++)
      for (let y = 0; y < dims.y; y++) {
        const s = (sums.z[z] as number) * (sums.y[y] as number);
        const row = ((c * dims.z + z) * dims.y + y) * dims.x;
        for (let x = 0; x < dims.x; x++) out[row + x] = (out[row + x] as number) / (s * (sums.x[x] as number));
      }
  return out;
}

/**
 * Test-time flip averaging: none — one pass; pair — the pass on the stack reversed along the axis
 * the network was trained to step along (z for SiS, time for TiS), flipped back and averaged with
 * the plain pass, which cancels the half-step shift that even → odd training teaches; all — every
 * combination of z, y, x flips (and time reversal for TiS): 8 or 16 passes.
 */
export type FlipAveraging = 'none' | 'pair' | 'all';
export const FLIP_AVERAGING: readonly FlipAveraging[] = ['none', 'pair', 'all'];

/** The flip sets of a mode, as dims of a (B, C, Z, Y, X) tensor. */
export function flipSets(mode: 'tis' | 'sis', averaging: FlipAveraging): number[][] {
  const step = mode === 'sis' ? 2 : 1;
  if (averaging === 'none') return [[]];
  if (averaging === 'pair') return [[], [step]];
  const axes = mode === 'sis' ? [2, 3, 4] : [1, 2, 3, 4];
  const out: number[][] = [];
  for (let m = 0; m < 1 << axes.length; m++) out.push(axes.filter((_, i) => m & (1 << i)));
  return out;
}

/** The network on x (B, C, Z, Y, X), averaged over the flip sets; no gradients. */
export function forwardAveraged(forward: (x: Tensor) => Tensor, x: Tensor, sets: number[][]): Tensor {
  return noGrad(() =>
    tidy(() => {
      let acc: Tensor | null = null;
      for (const dims of sets) {
        const y = dims.length === 0 ? forward(x) : forward(x.flip(dims)).flip(dims);
        acc = acc === null ? y : acc.add(y);
      }
      return acc!.div(sets.length);
    }),
  );
}

/** A tile predictor over a (1, C, tz, ty, tx) host array, with flip averaging. */
export function tilePredictor(
  forward: (x: Tensor) => Tensor,
  channels: number,
  sets: number[][],
  device: string,
): (t: Float32Array, d: Dims3d) => Float32Array {
  return (t, d) =>
    tidy(() => {
      const x = tensor(t, [1, channels, d.z, d.y, d.x], { device });
      return forwardAveraged(forward, x, sets).toFloat32Array();
    });
}
