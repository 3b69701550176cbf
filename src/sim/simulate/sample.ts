// One simulated sample: structure → true illumination → clean cycle → noisy and high-SNR raw.
import { cat, type Tensor, tensor, tidy } from '../../engine/index.js';
import { ParameterError } from '../../errors.js';
import type { SimParameters } from '../params.js';
import { acquire, cleanCycle, opticsOf } from './forward.js';
import { Rng } from './random.js';
import { makeStructure, type StructureKind } from './structures.js';
import { drawIllumination, type IlluminationDraw, type TrueParameters } from './truth.js';

export interface SampleSpec {
  structure: StructureKind;
  /** Raw image size, pixels (the SR ground truth is twice this). */
  height: number;
  width: number;
  params: SimParameters;
  seed: number;
  /** Expected photons at the brightest raw pixel of the noisy cycles. */
  photons: number;
  /** The same for the high-SNR target cycle (default 2000). */
  gtPhotons?: number;
  readNoise?: number;
  /** Noisy cycles of the same scene (a time-lapse; default 1). */
  cycles?: number;
  illumination?: IlluminationDraw;
  density?: number;
  device?: string;
}

export interface Sample {
  /** Noisy raw cycles [cycles, orientations, phases, H, W], counts (uint16 values in float32). */
  noisy: Tensor;
  /** High-SNR raw cycle [orientations, phases, H, W]. */
  target: Tensor;
  /** Noise-free raw cycle [orientations, phases, H, W] at the noisy photon scale (before offset). */
  clean: Tensor;
  /** SR ground truth [2H, 2W], maximum 1. */
  sr: Tensor;
  truth: TrueParameters;
}

export function simulateSample(s: SampleSpec): Sample {
  for (const [k, v] of [
    ['height', s.height],
    ['width', s.width],
  ] as const) {
    if (!(Number.isInteger(v) && v >= 32 && v % 2 === 0))
      throw new ParameterError(`size (${k})`, 'an even integer ≥ 32', v);
  }
  if (!(Number.isInteger(s.seed) && s.seed >= 0)) throw new ParameterError('seed', 'an integer ≥ 0', s.seed);
  const cycles = s.cycles ?? 1;
  if (!(Number.isInteger(cycles) && cycles >= 1)) throw new ParameterError('cycles', 'an integer ≥ 1', cycles);
  const rng = new Rng(s.seed);
  const truth = drawIllumination(s.params, rng, s.illumination);
  const structure = makeStructure({
    kind: s.structure,
    height: 2 * s.height,
    width: 2 * s.width,
    pixelUm: s.params.pixelSizeUm / 2,
    seed: rng.seed(),
    density: s.density,
  });
  const noiseSeed = rng.seed();
  return tidy(() => {
    const density = tensor(structure.data, [2 * s.height, 2 * s.width], { dtype: 'float32', device: s.device });
    const { raw, sr } = cleanCycle(density, structure.widthUm, truth, opticsOf(s.params));
    const base = { readNoise: s.readNoise ?? 1.5, offset: s.params.backgroundCounts };
    const noisy: Tensor[] = [];
    for (let c = 0; c < cycles; c++)
      noisy.push(acquire(raw, { ...base, peakPhotons: s.photons, seed: noiseSeed + 2 * c }).unsqueeze(0));
    const target = acquire(raw, { ...base, peakPhotons: s.gtPhotons ?? 2000, seed: noiseSeed + 2 * cycles });
    const rawMax = raw.max().item();
    const srMax = sr.max().item();
    return {
      noisy: cat(noisy, 0),
      target,
      clean: raw.mul(s.photons / (rawMax || 1)),
      sr: sr.div(srMax || 1),
      truth,
    };
  });
}
