// Patches for `rdl prepare`: crops, the augmentations and the background rule.
//
// Augmentations. sr: the 8 symmetries of the square (rotations by 90°, flips, transposes), applied
// alike to the 9 raw frames and the 2× target: the SR network maps any pattern orientation to the
// image, so a rotated cycle is as good a training example as the original.
// dn: only the 180° rotation, with the phases of each orientation put back in order. The denoiser's
// training fits the illumination on each target cycle, starting from the preset angles and searching
// ±0.1 rad around them (src/sim/params.ts startAnglesRad, the robust fit's window); MPE then rebuilds
// the 9 patterns with phase steps +2π/3. A flip of x maps k = (kx, ky) to (−kx, ky), angle θ → π − θ,
// a 90° rotation θ → θ + π/2: the fit would not find those patterns near the preset angles. A 180°
// rotation maps the pattern cos(2πk·r + φ + 2πj/3) to cos(2πk·r − φ − 2πj/3): the same orientation
// and |k|, but the phase steps run backwards; taking the phases of each orientation in the order
// 0, 2, 1 restores +2π/3 steps with the same k and phase −φ. So a rotated dn sample is fitted to the
// same angles and modulation as the original (test/prepare/augment.test.ts).
//
// Background rule. On the cell's target image (sr: SIM_gt; dn: the widefield, the mean of the
// high-SNR cycle's 9 frames), b = its 1st and t = its 99.9th percentile; a target pixel is
// structure when above b + FOREGROUND_LEVEL·(t − b). A patch is kept when at least minForeground
// of its target pixels are structure, else rejected and another position drawn.
import type { StackData } from '../io/stack.js';
import type { FrameOrder } from '../sim/params.js';

/** The symmetries of the square. Each maps output pixel (y, x) of an n×n image to a source pixel. */
export type Transform = 'id' | 'rot90' | 'rot180' | 'rot270' | 'flipx' | 'flipy' | 'transpose' | 'antitranspose';
export const SR_TRANSFORMS: readonly Transform[] = [
  'id',
  'rot90',
  'rot180',
  'rot270',
  'flipx',
  'flipy',
  'transpose',
  'antitranspose',
];
/** What keeps the illumination geometry the denoiser's fit expects (see the top of this file). */
export const DN_TRANSFORMS: readonly Transform[] = ['id', 'rot180'];

/** Fraction of the way from background to bright structure above which a target pixel is structure. */
export const FOREGROUND_LEVEL = 0.2;

function source(t: Transform, n: number, y: number, x: number): number {
  const m = n - 1;
  switch (t) {
    case 'id':
      return y * n + x;
    case 'rot90':
      return x * n + (m - y);
    case 'rot180':
      return (m - y) * n + (m - x);
    case 'rot270':
      return (m - x) * n + y;
    case 'flipx':
      return y * n + (m - x);
    case 'flipy':
      return (m - y) * n + x;
    case 'transpose':
      return x * n + y;
    case 'antitranspose':
      return (m - x) * n + (m - y);
  }
}

function like(data: StackData, length: number): StackData {
  return new (data.constructor as new (n: number) => StackData)(length);
}

/** A square crop [frames][side][side] at (y0, x0) of a stack [frames][height][width], same element type. */
export function cropPlanes(
  data: StackData,
  width: number,
  height: number,
  frames: number,
  y0: number,
  x0: number,
  side: number,
): StackData {
  if (y0 < 0 || x0 < 0 || y0 + side > height || x0 + side > width)
    throw new RangeError(`crop ${side}² at (${y0}, ${x0}) outside ${width}×${height}`);
  const out = like(data, frames * side * side);
  for (let f = 0; f < frames; f++) {
    for (let y = 0; y < side; y++) {
      const from = f * width * height + (y0 + y) * width + x0;
      out.set(data.subarray(from, from + side) as never, (f * side + y) * side);
    }
  }
  return out;
}

/** Applies a symmetry to every plane of [frames][n][n]. */
export function transformPlanes(data: StackData, frames: number, n: number, t: Transform): StackData {
  if (t === 'id') return data;
  const out = like(data, data.length);
  const plane = n * n;
  for (let f = 0; f < frames; f++) {
    const base = f * plane;
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) out[base + y * n + x] = data[base + source(t, n, y, x)] as number;
  }
  return out;
}

/** Frame index of orientation d, phase j (3 orientations × 3 phases). */
function frameAt(order: FrameOrder, d: number, j: number): number {
  return order === 'orientation-major' ? d * 3 + j : j * 3 + d;
}

/** Takes each orientation's phases in the order 0, 2, 1 (phase j ← phase −j mod 3) of a 9-frame cycle. */
export function reversePhaseSteps(data: StackData, plane: number, order: FrameOrder): StackData {
  const out = like(data, data.length);
  for (let d = 0; d < 3; d++) {
    for (let j = 0; j < 3; j++) {
      const from = frameAt(order, d, (3 - j) % 3) * plane;
      out.set(data.subarray(from, from + plane) as never, frameAt(order, d, j) * plane);
    }
  }
  return out;
}

/**
 * A dn cycle (9 frames, n×n) under one of DN_TRANSFORMS: the 180° rotation with its phase steps
 * restored, so the pattern keeps its vector k (and phase −φ).
 */
export function transformCycle(data: StackData, n: number, t: Transform, order: FrameOrder): StackData {
  if (t === 'id') return data;
  if (t !== 'rot180')
    throw new RangeError(`${t} changes the pattern orientation; a dn cycle takes only ${DN_TRANSFORMS.join(', ')}`);
  return reversePhaseSteps(transformPlanes(data, 9, n, t), n * n, order);
}

/** The mean of a stack's frames, float32 [height][width]. */
export function meanFrames(data: StackData, plane: number, frames: number): Float32Array {
  const out = new Float32Array(plane);
  for (let f = 0; f < frames; f++)
    for (let i = 0; i < plane; i++) out[i] = (out[i] as number) + (data[f * plane + i] as number);
  for (let i = 0; i < plane; i++) out[i] = (out[i] as number) / frames;
  return out;
}

/** The structure threshold of a target image: b + FOREGROUND_LEVEL·(t − b), b and t its 1st and 99.9th percentiles. */
export function foregroundThreshold(image: ArrayLike<number>): number {
  const sorted = Float32Array.from(image).sort();
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))] as number;
  const b = at(0.01);
  return b + FOREGROUND_LEVEL * (at(0.999) - b);
}

/** Fraction of the side×side window at (y0, x0) of an image [..][width] above the threshold. */
export function foregroundFraction(
  image: ArrayLike<number>,
  width: number,
  y0: number,
  x0: number,
  side: number,
  threshold: number,
): number {
  let n = 0;
  for (let y = y0; y < y0 + side; y++) {
    const row = y * width;
    for (let x = x0; x < x0 + side; x++) if ((image[row + x] as number) > threshold) n++;
  }
  return n / (side * side);
}
