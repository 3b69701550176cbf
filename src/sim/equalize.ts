// Intensity equalization (reference: predict/train scripts): each orientation is scaled so that
// its mean equals orientation 0's, factor_d = mean(orientation 0)/mean(orientation d).
import { type Tensor, tensor, tidy } from '../engine/index.js';
import { ShapeError } from '../errors.js';

/** Factors per orientation for frames [orientations, phases, y, x] (factor 0 is 1). */
export function equalizationFactors(frames: Tensor): number[] {
  if (frames.rank !== 4)
    throw new ShapeError(`expected frames [orientations, phases, y, x], found shape [${frames.shape}]`);
  const means = tidy(() => Array.from(frames.to('float64').mean([1, 2, 3]).toArray()));
  const ref = means[0] as number;
  const bad = means.findIndex((m) => !(m > 0));
  if (bad >= 0) {
    const all = means.map((m, d) => `orientation ${d}: ${Number(m.toPrecision(4))}`).join(', ');
    throw new ShapeError(
      `intensity equalization needs a positive mean in every orientation, but orientation ${bad} has mean ${Number((means[bad] as number).toPrecision(4))} (${all})`,
    );
  }
  return means.map((m, d) => (d === 0 ? 1 : ref / m));
}

/** The frames with each orientation multiplied by its factor, and the factors. */
export function equalizeIntensity(frames: Tensor): { frames: Tensor; factors: number[] } {
  const factors = equalizationFactors(frames);
  const real = frames.dtype === 'float64' ? 'float64' : 'float32';
  const scale = tensor(Float64Array.from(factors), [factors.length, 1, 1, 1], { dtype: real, device: frames.device });
  try {
    return { frames: frames.mul(scale), factors };
  } finally {
    scale.dispose();
  }
}
