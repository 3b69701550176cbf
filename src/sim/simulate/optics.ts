// The simulator's default optics: the setup-0 preset (pixel 62.6 nm, 488 nm excitation, its
// pattern angles, offset 100) seen through a TIRF objective (detection NA 1.49, 525 nm emission:
// cutoff kc = 2NA/λ = 5.68 cycles/µm), with the pattern at a fraction of kc (0.9 by default, within
// ALGORITHMS.md §9's 0.8–0.9). At the reference's own 0.975·kc (MT.mrc) the side bands sit where the
// OTF is below 1% and low-photon estimates degrade; users can ask for that with kFraction.
import { ParameterError } from '../../errors.js';
import { syntheticCutoffPerUm } from '../otf.js';
import { type PresetName, preset, resolveParameters, type SimParameters } from '../params.js';

export interface SimulatorOptics {
  preset?: PresetName;
  detectionNA?: number;
  emissionWavelengthNm?: number;
  /** |k0| as a fraction of the detection cutoff 2NA/λem (default 0.9); null keeps the preset's λexc/NAexc/2 spacing. */
  kFraction?: number | null;
  /** Other SimParameters fields to override (pixelSizeUm, startAnglesRad, backgroundCounts…). */
  overrides?: Record<string, unknown>;
}

export const SIMULATOR_DETECTION_NA = 1.49;
export const SIMULATOR_K_FRACTION = 0.9;

/** The parameters the simulator draws around; pass the same to `rdl estimate` to fit its output. */
export function simulatorParameters(o: SimulatorOptics = {}): SimParameters {
  const base = resolveParameters(preset(o.preset ?? 'setup0'), {
    detectionNA: o.detectionNA ?? SIMULATOR_DETECTION_NA,
    ...(o.emissionWavelengthNm !== undefined ? { emissionWavelengthNm: o.emissionWavelengthNm } : {}),
    ...(o.overrides ?? {}),
  });
  const frac = o.kFraction === undefined ? SIMULATOR_K_FRACTION : o.kFraction;
  if (frac === null) return base;
  if (!(frac > 0 && frac < 2)) throw new ParameterError('k fraction', 'a number in (0, 2)', frac);
  const kc = syntheticCutoffPerUm({ na: base.detectionNA, emissionWavelengthNm: base.emissionWavelengthNm });
  return resolveParameters(base, { lineSpacingUm: 1 / (frac * kc) });
}
