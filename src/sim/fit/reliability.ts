// How much to trust one orientation's fit, from the robust fit's coarse map of |modamp| over the
// search window and from the final modulation depth:
//  - peakRatio: the global maximum over the strongest other local maximum at least 1.5 dk away
//    (the first side lobe of the main peak sits ~1.4 dk out). Near 1 means two candidates are
//    equally plausible: noise, or a pattern that is not there.
//  - atWindowEdge: the maximum lies on the window's border and the map still rises outward, so
//    the true vector may lie outside the window.
//  - modulation: m from the final |modamp| (biased low by noise; see estimate.ts);
//  - phaseSdRad: the phase's standard error from the cycle's own noise (phase-noise.ts).
import { modulationDepth } from '../illumination.js';

export interface CoarseSample {
  /** Pattern vector, cycles/µm. */
  kx: number;
  ky: number;
  /** Position in its sector's grid (row-major, nx × ny). */
  i: number;
  j: number;
  nx: number;
  ny: number;
  /** |modamp| (weights frozen at the sector centre). */
  score: number;
  /** Inside the search window. */
  window: boolean;
  /** Inside the window and inside this sector's own angular range (each vector counted once). */
  own: boolean;
}

export interface CoarseAnalysis {
  best: { kx: number; ky: number };
  bestScore: number;
  /** Strongest other peak's |modamp|, or null when the window holds none. */
  runnerUp: number | null;
  atWindowEdge: boolean;
}

export interface Reliability {
  /** Main peak over the strongest other peak of |modamp| in the search window (null: no other peak). */
  peakRatio: number | null;
  /** Modulation depth m from the final |modamp|. */
  modulation: number;
  /** Standard error of the phase from the cycle's own noise, rad (null: no noise-only part of the spectrum to measure it). */
  phaseSdRad: number | null;
  /** The coarse maximum is on the window border and rising outward. */
  atWindowEdge: boolean;
  /** False when any warning applies. */
  reliable: boolean;
  /** Why the fit looks unreliable (empty when reliable). */
  warnings: string[];
}

/**
 * Below this peak ratio the runner-up is too close to call. Calibrated on simulated 128² cycles:
 * pattern-free cycles (m = 0.001) gave 1.0–1.5, correct fits 1.3–6.7 (so the ratio alone does not
 * decide; with the modulation test below every pattern-free cycle is flagged).
 */
export const MIN_PEAK_RATIO = 1.25;
/**
 * Below this m the pattern is barely there. Low: |modamp| normalises by signal plus noise power,
 * so real, usable data reads low (MT.mrc gives m ≈ 0.04–0.13 with correct fits; pattern-free
 * simulated 128² cycles at 1,000 photons gave 0.009–0.016).
 */
export const MIN_MODULATION = 0.02;

/**
 * Above this phase standard error (rad, 1σ) the phase is barely determined: a phase 10° off puts
 * the pattern's modulated part off by 17% of its amplitude, and the 95% interval spans 40°.
 * MT.mrc, a correct fit at ~10 photons per pixel with the pattern in the far tail of the OTF, gives
 * 8.9°, 7.0° and 2.7°; pattern-free simulated cycles give tens of degrees or more.
 */
export const MAX_PHASE_SD_RAD = (10 * Math.PI) / 180;

/** Minimum distance of a competing peak from the main one, in frequency steps dk. */
const SIDE_LOBE_DK = 1.5;

/** sectors: the samples of each sector grid of one orientation, in grid order. */
export function analyseCoarse(sectors: CoarseSample[][], dkx: number, dky: number): CoarseAnalysis {
  let best: CoarseSample | undefined;
  let bestSector: CoarseSample[] = [];
  const maxima: CoarseSample[] = [];
  for (const s of sectors) {
    for (const c of s) {
      if (!c.own) continue;
      if (best === undefined || c.score > best.score) {
        best = c;
        bestSector = s;
      }
      if (neighbours(s, c).every((n) => n.score <= c.score)) maxima.push(c);
    }
  }
  if (best === undefined) throw new Error('search window holds no sample (window narrower than the grid step)');
  const b = best;
  const far = (c: CoarseSample, dk: number) => Math.hypot((c.kx - b.kx) / dkx, (c.ky - b.ky) / dky) >= dk;
  const rivals = maxima.filter((c) => far(c, SIDE_LOBE_DK));
  let runnerUp: number | null = rivals.length > 0 ? Math.max(...rivals.map((c) => c.score)) : null;
  if (runnerUp === null) {
    // No other local maximum: the highest sample well clear of the main lobe.
    const rest = sectors.flatMap((s) => s.filter((c) => c.own && far(c, SIDE_LOBE_DK + 1)));
    runnerUp = rest.length > 0 ? Math.max(...rest.map((c) => c.score)) : null;
  }
  const atWindowEdge = neighbours(bestSector, b).some((n) => !n.window && n.score > b.score);
  return { best: { kx: b.kx, ky: b.ky }, bestScore: b.score, runnerUp, atWindowEdge };
}

function neighbours(s: CoarseSample[], c: CoarseSample): CoarseSample[] {
  const out: CoarseSample[] = [];
  for (let dy = -1; dy <= 1; dy++) {
    for (let dx = -1; dx <= 1; dx++) {
      if (dx === 0 && dy === 0) continue;
      const i = c.i + dx;
      const j = c.j + dy;
      if (i < 0 || j < 0 || i >= c.nx || j >= c.ny) continue;
      out.push(s[j * c.nx + i] as CoarseSample);
    }
  }
  return out;
}

/** The verdict from the coarse analysis and the final |modamp|. */
export function judge(a: CoarseAnalysis, absModamp: number, phaseSdRad: number | null): Reliability {
  const peakRatio = a.runnerUp === null || a.runnerUp <= 0 ? null : a.bestScore / a.runnerUp;
  const modulation = modulationDepth(absModamp);
  const warnings: string[] = [];
  if (peakRatio !== null && peakRatio < MIN_PEAK_RATIO) {
    warnings.push(
      `ambiguous peak: the strongest other candidate in the search window reaches ${(100 / peakRatio).toFixed(0)}% of the main peak`,
    );
  }
  if (a.atWindowEdge) warnings.push('the best pattern vector lies on the edge of the search window; widen the search');
  if (modulation < MIN_MODULATION) {
    warnings.push(`weak modulation (m ≈ ${modulation.toFixed(3)}): the pattern is barely above the noise`);
  }
  if (phaseSdRad !== null && phaseSdRad > MAX_PHASE_SD_RAD) {
    warnings.push(
      `uncertain phase (±${((phaseSdRad * 180) / Math.PI).toFixed(1)}° from this cycle's noise): fit the mean of several cycles (--num-average)`,
    );
  }
  return { peakRatio, modulation, phaseSdRad, atWindowEdge: a.atWindowEdge, reliable: warnings.length === 0, warnings };
}
