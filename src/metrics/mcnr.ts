// Raw-data modulation contrast-to-noise ratio (MCNR), after SIMcheck's "Modulation Contrast"
// (Ball et al., Sci. Rep. 5:15915, 2015). Per pixel and orientation: Anscombe-transform the
// phase frames (Poisson counts → unit-variance noise), scale the frames to a common mean
// (bleaching), and take the first Fourier coefficient over the phase axis, F1 = Σ_j x_j e^{−2πij/P}.
// Its amplitude is the local modulation; for unit-variance noise each of Re F1, Im F1 has
// standard deviation √(P/2), so MCNR = |F1|/√(P/2). SIMcheck estimates that noise level from
// the highest phase harmonic, which 3-phase 2D data does not have; with the Anscombe transform
// the level is known instead (the same choice as Stallinga's SIMnoise code). Orientations are
// averaged; the "feature" MCNR is the mean over pixels above Otsu's threshold of the map.
// Grades (SIMcheck): < 4 inadequate, 4–8 low, 8–12 good, > 12 excellent.
import { type Tensor, tensor, tidy } from '../engine/index.js';
import { ParameterError, ShapeError } from '../errors.js';

export interface McnrOptions {
  /** Camera offset, counts, subtracted first (100 for the reference's data). */
  offsetCounts?: number;
  /** Photo-electrons per count (1 when counts are photons, as in the simulator). */
  gainElectronsPerCount?: number;
}

export type McnrGrade = 'inadequate' | 'low' | 'good' | 'excellent';

export interface McnrResult {
  /** Mean MCNR over feature pixels (Otsu threshold of the map). */
  feature: number;
  /** Per-orientation feature MCNR. */
  perOrientation: number[];
  grade: McnrGrade;
  /** The MCNR map [y, x] (orientation average); the caller disposes it. */
  map: Tensor;
}

export function mcnrGrade(v: number): McnrGrade {
  return v < 4 ? 'inadequate' : v < 8 ? 'low' : v < 12 ? 'good' : 'excellent';
}

/** MCNR of one cycle [orientations, phases, y, x] of raw counts. */
export function mcnr(frames: Tensor, o: McnrOptions = {}): McnrResult {
  if (frames.rank !== 4 || frames.dim(1) < 3) {
    throw new ShapeError(
      `MCNR needs frames [orientations, phases ≥ 3, y, x], found shape [${frames.shape.join(', ')}]`,
    );
  }
  const gain = o.gainElectronsPerCount ?? 1;
  if (!(gain > 0)) throw new ParameterError('gain (e⁻/count)', 'a number > 0', gain);
  const offset = o.offsetCounts ?? 100;
  return tidy(() => {
    const phases = frames.dim(1);
    const e = frames.to('float64').sub(offset).mul(gain).clamp(0, null);
    // Anscombe: 2√(x + 3/8) has unit variance for Poisson x.
    let a = e
      .add(3 / 8)
      .sqrt()
      .mul(2);
    // Equal frame means within an orientation (SIMcheck's normalizeInner).
    const means = a.mean([2, 3], true);
    a = a.mul(means.mean(1, true).div(means));
    const opts = { dtype: 'float64', device: frames.device } as const;
    const cos = tensor(
      Float64Array.from({ length: phases }, (_, j) => Math.cos((2 * Math.PI * j) / phases)),
      [1, phases, 1, 1],
      opts,
    );
    const sin = tensor(
      Float64Array.from({ length: phases }, (_, j) => Math.sin((2 * Math.PI * j) / phases)),
      [1, phases, 1, 1],
      opts,
    );
    const re = a.mul(cos).sum(1);
    const im = a.mul(sin).sum(1);
    const perOrientationMap = re
      .square()
      .add(im.square())
      .sqrt()
      .div(Math.sqrt(phases / 2)); // [D, y, x]
    const map = perOrientationMap.mean(0);
    const mask = map.ge(otsuThreshold(map.toArray() as Float64Array));
    const count = mask.sum().item();
    const maskF = mask.to('float64');
    const perOrientation: number[] = [];
    for (let d = 0; d < frames.dim(0); d++)
      perOrientation.push(perOrientationMap.select(0, d).mul(maskF).sum().item() / count);
    const feature = map.mul(maskF).sum().item() / count;
    return { feature, perOrientation, grade: mcnrGrade(feature), map };
  });
}

/** Otsu's threshold (256 bins between min and max): maximizes the between-class variance. */
export function otsuThreshold(v: ArrayLike<number>): number {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < v.length; i++) {
    lo = Math.min(lo, v[i]!);
    hi = Math.max(hi, v[i]!);
  }
  if (!(hi > lo)) return lo;
  const bins = 256;
  const hist = new Float64Array(bins);
  const scale = (bins - 1) / (hi - lo);
  for (let i = 0; i < v.length; i++) hist[Math.round((v[i]! - lo) * scale)]! += 1;
  let total = 0;
  let sumAll = 0;
  for (let b = 0; b < bins; b++) {
    total += hist[b]!;
    sumAll += b * hist[b]!;
  }
  let w0 = 0;
  let sum0 = 0;
  let best = 0;
  let bestVar = -1;
  for (let b = 0; b < bins - 1; b++) {
    w0 += hist[b]!;
    sum0 += b * hist[b]!;
    const w1 = total - w0;
    if (w0 === 0 || w1 === 0) continue;
    const between = w0 * w1 * (sum0 / w0 - (sumAll - sum0) / w1) ** 2;
    if (between > bestVar) {
      bestVar = between;
      best = b;
    }
  }
  // Pixels in bins above `best` are features: threshold halfway to the next bin.
  return lo + (best + 0.5) / scale;
}
