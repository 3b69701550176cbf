// src/sim/: SIM physics. This folder's top holds what every SIM job shares: acquisition parameters
// (this file), frequency grids (grid.ts), OTFs (otf.ts), raw frame stacks (frames.ts), patterns and
// the pattern description (pattern.ts, illumination.ts), MPE (mpe.ts), intensity equalization
// (equalize.ts) and edge apodization (apodize.ts). The jobs live in fit/ (illumination fit),
// reconstruct/ (Wiener SIM) and simulate/ (the simulator). Never imports nn/ or models/.
//
// 2D-SIM acquisition parameters: a plain, JSON-serializable object with presets, overrides and
// validation that names the bad field. Axis convention everywhere in src/sim: images are
// row-major [y, x] with x the MRC fast axis (column index); angles are atan2(ky, kx) in that
// frame; frequencies are in cycles/µm.
import { ParameterError } from '../errors.js';

/** How the raw frames of one cycle are ordered in the file. */
export type FrameOrder = 'orientation-major' | 'phase-major';

export interface SimParameters {
  /** Number of pattern orientations (3 for the reference setups). */
  orientations: number;
  /** Phases per orientation, equally spaced by 2π/phases (3). */
  phases: number;
  /** orientation-major: frame z = d·phases + j (the reference's layout); phase-major: z = j·orientations + d. */
  frameOrder: FrameOrder;
  /** Pixel size in the sample, µm (same in x and y). */
  pixelSizeUm: number;
  /** Excitation wavelength, nm: with excitationNA it sets the expected line spacing λ/NA/2. */
  excitationWavelengthNm: number;
  /** NA of the excitation (pattern-forming) beams. */
  excitationNA: number;
  /** Emission wavelength, nm (synthetic OTF only). */
  emissionWavelengthNm: number;
  /** Detection NA (synthetic OTF only; the reference's 1.3 is too small for its TIRF data, see docs). */
  detectionNA: number;
  /** Camera offset, counts (not used by the fit: a constant only reaches the masked-out DC pixel). */
  backgroundCounts: number;
  /** Edge taper width before the FFT, pixels. */
  apodizationPx: number;
  /** Search-start pattern angles atan2(ky, kx) per orientation, rad, in the [y, x] frame. */
  startAnglesRad: number[];
  /** Expected line spacing, µm; null = excitationWavelength / excitationNA / 2. */
  lineSpacingUm: number | null;
  /** The reference's overlap cutoff radius is overlapCutoffNA·2/λexc (a literal 1.35 there). */
  overlapCutoffNA: number;
  /** OTF values at or below this are masked out of the overlaps (0.005). */
  otfThreshold: number;
  /** Angle step of the hill climb, rad (0.001). */
  angleStepRad: number;
  /** Magnitude step of the hill climb, in units of the image's frequency step dk (0.1). */
  magnitudeStepDk: number;
  /** Fallback to the preset angle when the fit differs by more than this, rad (0.05). */
  angleToleranceRad: number;
  /** Fallback to the preset magnitude when the fit differs by more than this, cycles/µm (0.1). */
  magnitudeTolerancePerUm: number;
}

export type PresetName = 'setup0' | 'setup1' | 'setup2';
export const PRESET_NAMES: readonly PresetName[] = ['setup0', 'setup1', 'setup2'];

// Values of the reference's sim_fitting/Parameters_2DSIM.py (k0angle_c per setup). The emission
// wavelength is not in the reference (it never builds a synthetic OTF); 525 nm is GFP-like
// emission for its 488 nm excitation.
const COMMON: Omit<SimParameters, 'startAnglesRad'> = {
  orientations: 3,
  phases: 3,
  frameOrder: 'orientation-major',
  pixelSizeUm: 0.0626,
  excitationWavelengthNm: 488,
  excitationNA: 1.35,
  emissionWavelengthNm: 525,
  detectionNA: 1.3,
  backgroundCounts: 100,
  apodizationPx: 10,
  lineSpacingUm: null,
  overlapCutoffNA: 1.35,
  otfThreshold: 0.005,
  angleStepRad: 0.001,
  magnitudeStepDk: 0.1,
  angleToleranceRad: 0.05,
  magnitudeTolerancePerUm: 0.1,
};
const START_ANGLES: Record<PresetName, number[]> = {
  setup0: [1.48, 2.5272, 3.5744],
  setup1: [-1.66, -0.6128, 0.4344],
  setup2: [1.5708, 2.618, 3.6652],
};

/** A fresh copy of a preset. */
export function preset(name: PresetName = 'setup0'): SimParameters {
  const angles = START_ANGLES[name];
  if (angles === undefined) throw new ParameterError('preset', `one of ${PRESET_NAMES.join(', ')}`, name);
  return { ...COMMON, startAnglesRad: angles.slice() };
}

/** Expected line spacing, µm. */
export function expectedSpacingUm(p: SimParameters): number {
  return p.lineSpacingUm ?? p.excitationWavelengthNm / 1000 / p.excitationNA / 2;
}

/** Expected pattern frequency |k0| = 1/spacing, cycles/µm. */
export function expectedMagnitudePerUm(p: SimParameters): number {
  return 1 / expectedSpacingUm(p);
}

/** Index in the file of orientation d, phase j. */
export function frameIndex(p: SimParameters, d: number, j: number): number {
  return p.frameOrder === 'orientation-major' ? d * p.phases + j : j * p.orientations + d;
}

const POSITIVE = 'a finite number > 0';
const checks: { [K in keyof SimParameters]: (v: unknown) => string | null } = {
  orientations: (v) => (isInt(v, 1) ? null : 'an integer ≥ 1'),
  phases: (v) => (isInt(v, 3) ? null : 'an integer ≥ 3 (band separation needs three phases)'),
  frameOrder: (v) => (v === 'orientation-major' || v === 'phase-major' ? null : '"orientation-major" or "phase-major"'),
  pixelSizeUm: (v) => (isPos(v) ? null : POSITIVE),
  excitationWavelengthNm: (v) => (isPos(v) ? null : POSITIVE),
  excitationNA: (v) => (isPos(v) ? null : POSITIVE),
  emissionWavelengthNm: (v) => (isPos(v) ? null : POSITIVE),
  detectionNA: (v) => (isPos(v) ? null : POSITIVE),
  backgroundCounts: (v) => (isFiniteNum(v) ? null : 'a finite number'),
  apodizationPx: (v) => (isInt(v, 0) ? null : 'an integer ≥ 0'),
  startAnglesRad: (v) =>
    Array.isArray(v) && v.length > 0 && v.every(isFiniteNum) ? null : 'a non-empty array of finite numbers (rad)',
  lineSpacingUm: (v) => (v === null || isPos(v) ? null : `null or ${POSITIVE}`),
  overlapCutoffNA: (v) => (isPos(v) ? null : POSITIVE),
  otfThreshold: (v) => (isFiniteNum(v) && v >= 0 && v < 1 ? null : 'a number in [0, 1)'),
  angleStepRad: (v) => (isPos(v) ? null : POSITIVE),
  magnitudeStepDk: (v) => (isPos(v) ? null : POSITIVE),
  angleToleranceRad: (v) => (isPos(v) ? null : POSITIVE),
  magnitudeTolerancePerUm: (v) => (isPos(v) ? null : POSITIVE),
};

/**
 * Applies overrides (from the CLI or a JSON file) to a base and validates the result. Unknown
 * fields and bad values throw a ParameterError naming the field (`${where}.${field}`).
 */
export function resolveParameters(
  base: SimParameters,
  overrides: Record<string, unknown> = {},
  where = 'parameters',
): SimParameters {
  const out: Record<string, unknown> = { ...base, startAnglesRad: base.startAnglesRad.slice() };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(key in checks)) {
      throw new ParameterError(`${where}.${key}`, `one of the fields ${Object.keys(checks).join(', ')}`, key);
    }
    out[key] = Array.isArray(value) ? value.slice() : value;
  }
  return validateParameters(out, where);
}

/** Checks every field and the cross-field rules; returns the value typed. */
export function validateParameters(p: Record<string, unknown>, where = 'parameters'): SimParameters {
  for (const [key, check] of Object.entries(checks)) {
    const problem = check(p[key]);
    if (problem !== null) throw new ParameterError(`${where}.${key}`, problem, p[key]);
  }
  const sp = p as unknown as SimParameters;
  if (sp.startAnglesRad.length !== sp.orientations) {
    throw new ParameterError(
      `${where}.startAnglesRad`,
      `one angle per orientation (${sp.orientations})`,
      sp.startAnglesRad,
    );
  }
  return sp;
}

function isFiniteNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
function isPos(v: unknown): v is number {
  return isFiniteNum(v) && v > 0;
}
function isInt(v: unknown, min: number): v is number {
  return isFiniteNum(v) && Number.isInteger(v) && v >= min;
}
