// src/sim/fit/: the illumination fit, k0 (pattern vector) and phase per orientation from the raw
// frames and the OTF. Start reading here: estimateCycle / estimateStack run either fit.
//   reference fit: bands.ts (band separation) → overlap.ts / overlap-spectral.ts (the reference's
//     modamp per candidate) → search.ts (its hill climb) → window.ts (fallback rules);
//   robust fit: robust.ts (global search on peakmap.ts's maps, then refinement) → phase.ts (SNR-weighted
//     correlation, snr.ts) → phase-noise.ts and reliability.ts (how far to trust it);
//   candidates.ts holds the candidate vectors every evaluator shares; working.ts the large-grid plan
//     (grids above 512²: the coarse search on a crop, the refinement on the whole grid, fitLarge).
//
// Illumination-pattern estimation per orientation (reference: cal_modamp, plus the predict
// script's averaging and fallback rules). Returns plain numbers; every tensor is freed.
import {
  cat,
  type Device,
  type DType,
  fft,
  getNumThreads,
  keepBackgroundAwake,
  type Tensor,
  tidy,
  withNumThreads,
} from '../../engine/index.js';
import { ParameterError } from '../../errors.js';
import { apodize } from '../apodize.js';
import { cycleCount, cycleTensor, type RawStack } from '../frames.js';
import { frequencySteps, type ImageGrid } from '../grid.js';
import { modulationDepth, type PatternOrientation } from '../illumination.js';
import { type OtfTable, otfTableForGrid, type RadialOtf } from '../otf.js';
import { expectedMagnitudePerUm, type SimParameters } from '../params.js';
import { separateBands, separateBandsWithPower } from './bands.js';
import type { OverlapSettings } from './candidates.js';
import { ModampEvaluator } from './overlap.js';
import { PhaseCorrelator } from './phase.js';
import type { Reliability } from './reliability.js';
import { type CropStage, type RobustResult, robustSearch, robustSearchLarge } from './robust.js';
import { type Candidate, runSearches, type SearchResult, searchOrientation } from './search.js';
import { angleDiff, checkWindow, DEFAULT_WINDOW, type SearchWindow } from './window.js';
import { chooseCrop, lobeHalfWidthDk, WORKING_SIZE_PX, workingSize } from './working.js';

export interface OrientationEstimate extends PatternOrientation {
  /** Why: 'angle' and/or 'magnitude'. */
  fallbackReasons: ('angle' | 'magnitude')[];
  /** What the search found, before any fallback. */
  fitted: { k0PerUm: [number, number]; angleRad: number; magnitudePerUm: number };
  /** Candidates evaluated by the search. */
  evaluations: number;
  /** Non-null when a walk had no proper parabola (the reference would return an angle of 0). */
  degenerate: string | null;
  /** How far to trust the fit (robust fit only; the reference fit has no such figures). */
  reliability?: Reliability;
}

export interface IlluminationEstimate {
  orientations: OrientationEstimate[];
}

export interface EstimateOptions {
  device?: Device;
  /** float32 (default; same answer within the tolerances, faster) or float64 (the reference's). */
  precision?: 'float32' | 'float64';
  /**
   * robust (default): global search of a window around the start, then refinement (robust.ts);
   * reference: the reference's hill climb from the start, bit-faithful, with its fallback rules.
   */
  fit?: 'robust' | 'reference';
  /** The robust fit's search window (default ±0.1 rad, ±5% in |k0|); its edges are also the fallback limits. */
  window?: Partial<SearchWindow>;
  /**
   * The robust fit's working size, pixels per side (default 512, working.ts): larger grids run the
   * coarse search on their most modulated crop of this size and refine on the whole grid.
   */
  workingSizePx?: number;
}

/** The overlap cutoff radius R, cycles/µm: overlapCutoffNA·2/λexc, at most the Nyquist radius. */
export function overlapCutoffPerUm(p: SimParameters, grid: ImageGrid): number {
  const { dkx, dky } = frequencySteps(grid);
  return Math.min(
    (p.overlapCutoffNA * 2) / (p.excitationWavelengthNm / 1000),
    (grid.width / 2) * dkx,
    (grid.height / 2) * dky,
  );
}

/**
 * Fits every orientation of one cycle: frames [orientations, phases, y, x] (raw counts; the tensor
 * is not modified), the OTF table for this grid.
 */
export function estimateCycle(
  frames: Tensor,
  table: OtfTable,
  p: SimParameters,
  o: EstimateOptions = {},
): IlluminationEstimate {
  return withFitThreads(o, () => fitCycle(frames, table, p, o));
}

/**
 * The reference fit's search keeps a host core and the engine's background thread busy
 * (overlap-spectral.ts), and libtorch's idle pool threads spin for milliseconds after every
 * parallel op (the frames' conversion, the band separation's FFTs), competing with both: on 2 cores
 * one pool thread fewer for the whole fit took the 256² fit from ~27 to ~22 ms. The robust fit's
 * batched transforms want the whole pool (1 thread instead of 2: 44 → 49 ms).
 */
function withFitThreads<T>(o: EstimateOptions, fn: () => T): T {
  return o.fit === 'reference' ? withNumThreads(Math.max(1, getNumThreads() - 1), fn) : fn();
}

/** How long the background thread is kept awake ahead of the reference fit's search, ms: its setup and a margin. */
const BACKGROUND_WARM_MS = 10;

/** owned: the frames are this fit's to dispose as soon as it is done with them (fitStack's). */
function fitCycle(
  frames: Tensor,
  table: OtfTable,
  p: SimParameters,
  o: EstimateOptions,
  owned = false,
): IlluminationEstimate {
  if (o.fit !== 'reference') {
    const grid: ImageGrid = { height: frames.dim(2), width: frames.dim(3), pixelSizeUm: p.pixelSizeUm };
    const crop = workingSize(grid, checkWorkingSize(o.workingSizePx));
    if (crop !== null) return fitLarge(frames, table, p, o, grid, crop, owned);
  }
  // The reference fit's candidates run their products on the engine's background thread
  // (overlap-spectral.ts); it is woken now so that it spins, ready, when the first ones come after
  // the setup below (~5 ms at 256²), instead of their running here while it wakes.
  if (o.fit === 'reference') keepBackgroundAwake(BACKGROUND_WARM_MS);
  const grid: ImageGrid = { height: frames.dim(2), width: frames.dim(3), pixelSizeUm: p.pixelSizeUm };
  const real: DType = o.precision === 'float64' ? 'float64' : 'float32';
  const robust = o.fit !== 'reference';
  const bands = tidy(() => {
    const x = frames.to({ dtype: real, device: o.device ?? frames.device });
    const apodized = apodize(x, p.apodizationPx);
    // The robust fit's phase correlator takes the bands of the unapodized frames (phase.ts): both
    // sets in one batch, whose transforms the engine shares between its threads (3 + 3 instead of 2 + 1).
    return separateBands(robust ? cat([apodized, x]) : apodized);
  });
  const settings = { cutoffPerUm: overlapCutoffPerUm(p, grid), otfThreshold: p.otfThreshold };
  const { evaluator, correlator } = estimators(bands, table, grid, settings, robust, {
    dtype: real,
    device: o.device ?? frames.device,
  });
  try {
    const presetMag = expectedMagnitudePerUm(p);
    const magStep = p.magnitudeStepDk * frequencySteps(grid).dkr;
    const starts = p.startAnglesRad.map((c): Candidate => {
      // As the reference: the start vector, then its polar form (angle wrapped to (−π, π]).
      const kx = presetMag * Math.cos(c);
      const ky = presetMag * Math.sin(c);
      return { angleRad: Math.atan2(ky, kx), magnitudePerUm: Math.sqrt(kx ** 2 + ky ** 2) };
    });
    if (o.fit === 'reference') {
      const results = runSearches(
        starts.map((s) => searchOrientation(s, p.angleStepRad, magStep)),
        (index, c) =>
          evaluator.start({
            orientation: index,
            kx: c.magnitudePerUm * Math.cos(c.angleRad),
            ky: c.magnitudePerUm * Math.sin(c.angleRad),
          }),
      );
      const tol = { angleRad: p.angleToleranceRad, magnitudePerUm: p.magnitudeTolerancePerUm };
      return { orientations: results.map((r, d) => finish(r, p.startAnglesRad[d] as number, presetMag, tol)) };
    }
    const window = checkWindow({ ...DEFAULT_WINDOW, ...o.window });
    // estimators() makes the correlator whenever the fit is robust.
    if (correlator === null) throw new Error('internal error: the robust fit has no phase correlator');
    return robustEstimate(robustSearch(evaluator, correlator, grid, starts, window), p, presetMag, window);
  } finally {
    evaluator.dispose();
    correlator?.dispose();
  }
}

/** The start vectors in polar form, as the reference: the preset vector, then its angle (wrapped to (−π, π]) and length. */
function startCandidates(p: SimParameters): Candidate[] {
  const presetMag = expectedMagnitudePerUm(p);
  return p.startAnglesRad.map((c): Candidate => {
    const kx = presetMag * Math.cos(c);
    const ky = presetMag * Math.sin(c);
    return { angleRad: Math.atan2(ky, kx), magnitudePerUm: Math.sqrt(kx ** 2 + ky ** 2) };
  });
}

function robustEstimate(
  results: RobustResult[],
  p: SimParameters,
  presetMag: number,
  window: SearchWindow,
): IlluminationEstimate {
  // The window's edges replace the reference's fallback limits (0.05 rad, 0.1 µm⁻¹ ≈ 1.8%): the
  // robust fit is trusted anywhere inside its window, and cannot leave it by more than a refinement step.
  const tol = { angleRad: window.angleRad, magnitudePerUm: window.magnitudeFraction * presetMag };
  return {
    orientations: results.map((r, d) => ({
      ...finish(r, p.startAnglesRad[d] as number, presetMag, tol),
      // The weighted correlation's phase (phase.ts), not −arg(modamp).
      phaseRad: r.phaseRad,
      reliability: r.reliability,
    })),
  };
}

function checkWorkingSize(v: number | undefined): number {
  if (v === undefined) return WORKING_SIZE_PX;
  if (!(Number.isInteger(v) && v >= 32)) throw new ParameterError('working size (pixels)', 'an integer ≥ 32', v);
  return v;
}

/**
 * The robust fit of a grid larger than the working size (working.ts): the most modulated crop runs
 * the coarse search and gives the final modamp (its own evaluator, on its apodized frames); the
 * whole grid only the correlator (bands of the unapodized frames, and the object's SNR from the
 * half spectrum of the apodized 3-frame sums), built once (twice where the refinement moves more
 * than half the crop's step). owned: see fitCycle.
 */
function fitLarge(
  frames: Tensor,
  table: OtfTable,
  p: SimParameters,
  o: EstimateOptions,
  grid: ImageGrid,
  crop: { height: number; width: number },
  owned: boolean,
): IlluminationEstimate {
  const real: DType = o.precision === 'float64' ? 'float64' : 'float32';
  const device = o.device ?? frames.device;
  const opts = { dtype: real, device };
  const window = checkWindow({ ...DEFAULT_WINDOW, ...o.window });
  const settings = { cutoffPerUm: overlapCutoffPerUm(p, grid), otfThreshold: p.otfThreshold };
  // The whole grid's bands (unapodized), where the modulation is strongest, and the object's SNR
  // input (snr.ts): the half spectrum of the apodized 3-frame sums, which is what the bands' band 0
  // would be for apodized frames (apodization is linear), at a third of the transforms.
  const { bands, corner, band0 } = tidy(() => {
    const x = frames.to(opts);
    const { bands, power } = separateBandsWithPower(x);
    const map = power.to('float32').toFloat32Array();
    const band0 = fft.rfft2(apodize(x.sum(1), p.apodizationPx));
    return { bands, band0, corner: chooseCrop(map, grid.height, grid.width, crop.height, crop.width) };
  });
  let evaluator: ModampEvaluator | null = null;
  try {
    const cropGrid: ImageGrid = { ...crop, pixelSizeUm: p.pixelSizeUm };
    const cropBands = tidy(() => {
      const x = frames.narrow(2, corner.y0, crop.height).narrow(3, corner.x0, crop.width).to(opts).contiguous();
      return separateBands(apodize(x, p.apodizationPx));
    });
    // The frames are not needed again: a 2048² cycle's are 150 MB.
    if (owned) frames.dispose();
    try {
      const cropSettings = { cutoffPerUm: overlapCutoffPerUm(p, cropGrid), otfThreshold: p.otfThreshold };
      evaluator = new ModampEvaluator(cropBands, table, cropGrid, cropSettings);
    } finally {
      cropBands.dispose();
    }
    const cropStage: CropStage = {
      evaluator,
      grid: cropGrid,
      centreOffsetUm: [
        (corner.x0 + crop.width / 2 - grid.width / 2) * p.pixelSizeUm,
        (corner.y0 + crop.height / 2 - grid.height / 2) * p.pixelSizeUm,
      ],
    };
    const makeFull = () => {
      try {
        return new PhaseCorrelator(bands, band0, table, grid, settings, opts);
      } finally {
        band0.dispose();
      }
    };
    const presetMag = expectedMagnitudePerUm(p);
    const results = robustSearchLarge(
      cropStage,
      makeFull,
      grid,
      startCandidates(p),
      window,
      lobeHalfWidthDk(grid, crop),
    );
    return robustEstimate(results, p, presetMag, window);
  } finally {
    bands.dispose();
    band0.dispose();
    evaluator?.dispose();
  }
}

/**
 * The modamp evaluator on the bands of the apodized frames and, for the robust fit, the phase
 * correlator on those of the unapodized ones (bands: [D, 2, y, x], or [2D, 2, y, x] with the
 * unapodized frames' after; the correlator takes the object's SNR from the apodized band 0).
 * Disposes the bands.
 */
function estimators(
  bands: Tensor,
  table: OtfTable,
  grid: ImageGrid,
  settings: OverlapSettings,
  robust: boolean,
  opts: { dtype: DType; device: Device },
): { evaluator: ModampEvaluator; correlator: PhaseCorrelator | null } {
  const d = robust ? bands.dim(0) / 2 : bands.dim(0);
  const apodized = bands.narrow(0, 0, d);
  const band0 = apodized.select(1, 0);
  const unapodized = robust ? bands.narrow(0, d, d) : null;
  let evaluator: ModampEvaluator | null = null;
  try {
    evaluator = new ModampEvaluator(apodized, table, grid, settings);
    const correlator = unapodized ? new PhaseCorrelator(unapodized, band0, table, grid, settings, opts) : null;
    return { evaluator, correlator };
  } catch (e) {
    evaluator?.dispose();
    throw e;
  } finally {
    for (const t of [band0, apodized, unapodized, bands]) t?.dispose();
  }
}

/** Applies the reference's fallback rules and derives phase, spacing and depth. */
function finish(
  r: SearchResult,
  presetAngle: number,
  presetMag: number,
  tol: { angleRad: number; magnitudePerUm: number },
): OrientationEstimate {
  const reasons: ('angle' | 'magnitude')[] = [];
  // The reference compares its downstream angle π/2 − θ with a rounded copy of π/2 − preset; the
  // same test in this frame is the wrapped difference of θ and the preset.
  const dAngle = angleDiff(r.angleRad, presetAngle);
  let angle = r.angleRad;
  if (!(Math.abs(dAngle) <= tol.angleRad)) {
    angle = presetAngle;
    reasons.push('angle');
  }
  let mag = r.magnitudePerUm;
  if (!(Math.abs(mag - presetMag) <= tol.magnitudePerUm)) {
    mag = presetMag;
    reasons.push('magnitude');
  }
  const absModamp = Math.hypot(r.modamp[0], r.modamp[1]);
  return {
    k0PerUm: [mag * Math.cos(angle), mag * Math.sin(angle)],
    angleRad: angle,
    magnitudePerUm: mag,
    spacingUm: 1 / mag,
    // The reference keeps the fitted phase even when k falls back.
    phaseRad: -Math.atan2(r.modamp[1], r.modamp[0]),
    modamp: [r.modamp[0], r.modamp[1]],
    modulation: modulationDepth(absModamp),
    fallback: reasons.length > 0,
    fallbackReasons: reasons,
    fitted: {
      k0PerUm: [r.magnitudePerUm * Math.cos(r.angleRad), r.magnitudePerUm * Math.sin(r.angleRad)],
      angleRad: r.angleRad,
      magnitudePerUm: r.magnitudePerUm,
    },
    evaluations: r.evaluations,
    degenerate: r.degenerate,
  };
}

export interface StackEstimateOptions extends EstimateOptions {
  /** First cycle of the group (0-based). */
  cycle?: number;
  /** Cycles averaged before the fit (the reference's num_average). */
  numAverage?: number;
}

export interface CycleGroupEstimate extends IlluminationEstimate {
  /** The cycles [first, last] whose mean was fitted (and to which the parameters apply). */
  cycles: [number, number];
}

/** Fits one group of `numAverage` cycles from `cycle` (the mean of the group, as the reference). */
export function estimateStack(
  stack: RawStack,
  otf: RadialOtf,
  p: SimParameters,
  o: StackEstimateOptions = {},
): CycleGroupEstimate {
  return withFitThreads(o, () => fitStack(stack, otf, p, o));
}

function fitStack(stack: RawStack, otf: RadialOtf, p: SimParameters, o: StackEstimateOptions): CycleGroupEstimate {
  const table = otfTableForGrid(otf, { height: stack.height, width: stack.width, pixelSizeUm: p.pixelSizeUm });
  const start = o.cycle ?? 0;
  const count = o.numAverage ?? 1;
  const frames = cycleTensor(stack, p, {
    start,
    count,
    device: o.device,
    dtype: o.precision === 'float64' ? 'float64' : 'float32',
  });
  try {
    // As estimateCycle, but the frames are the fit's to free early (fitLarge).
    return { cycles: [start, start + count - 1], ...withFitThreads(o, () => fitCycle(frames, table, p, o, true)) };
  } finally {
    frames.dispose();
  }
}

/**
 * Every group of numAverage consecutive cycles (⌊cycles/numAverage⌋ groups; leftover cycles are
 * skipped, as the reference's predict script does).
 */
export function estimateAllCycles(
  stack: RawStack,
  otf: RadialOtf,
  p: SimParameters,
  o: Omit<StackEstimateOptions, 'cycle'> = {},
): CycleGroupEstimate[] {
  const n = o.numAverage ?? 1;
  const groups = Math.floor(cycleCount(stack, p) / n);
  const out: CycleGroupEstimate[] = [];
  for (let g = 0; g < groups; g++) out.push(estimateStack(stack, otf, p, { ...o, cycle: g * n, numAverage: n }));
  return out;
}
