// The true illumination of a simulated sample, drawn around a preset and written in exactly the
// `rdl estimate --json` convention, so estimates can be scored field by field:
// k0PerUm = [kx, ky] cycles/µm with x the column axis, angleRad = atan2(ky, kx), phaseRad = φ0 with
// the pattern 1 + m·cos(2π k0·r + φ0 + 2πj/P), r = ((x − W/2)·dx, (y − H/2)·dx) µm on the raw grid,
// modamp the value the reference's fit returns for ideal data, (m/2)·e^{−iφ0}/(1 + m²/4).
import { ParameterError } from '../../errors.js';
import { angleDiff } from '../fit/window.js';
import type { PatternOrientation } from '../illumination.js';
import { expectedMagnitudePerUm, type SimParameters } from '../params.js';
import type { Rng } from './random.js';

/** The true pattern of one orientation (modulation: the true depth m; never a fallback). */
export interface TrueOrientation extends PatternOrientation {
  fallback: false;
}

export interface TrueParameters {
  orientations: TrueOrientation[];
}

export interface IlluminationDraw {
  /**
   * Largest deviation of the true angle from the preset start angle, rad (default 0.003, about
   * what a real setup drifts: MT.mrc is within 0.004 of its preset). The fit's hill climb needs
   * it: |modamp| peaks within ~1/(|k0|·field of view) ≈ 0.01 rad of the truth, with side lobes.
   */
  angleJitterRad?: number;
  /** Largest relative deviation of |k0| from the preset (default 0.002; MT.mrc's is 0.4%, the fallback 1.8%). */
  magnitudeJitter?: number;
  /** Modulation depth, or a range to draw from (default [0.7, 0.95], "good" modulation). */
  modulation?: number | [number, number];
  /** Fixed φ0 of orientation 0 (rad); other orientations and the default draw uniformly. */
  phaseRad?: number;
}

export function drawIllumination(p: SimParameters, rng: Rng, o: IlluminationDraw = {}): TrueParameters {
  const m = o.modulation ?? [0.7, 0.95];
  const [mLo, mHi] = typeof m === 'number' ? [m, m] : m;
  if (!(mLo > 0 && mHi <= 1 && mLo <= mHi)) throw new ParameterError('modulation', 'a depth (or range) in (0, 1]', m);
  const aj = o.angleJitterRad ?? 0.003;
  const mj = o.magnitudeJitter ?? 0.002;
  const mag0 = expectedMagnitudePerUm(p);
  const orientations: TrueOrientation[] = p.startAnglesRad.map((start, d) => {
    const a = start + rng.uniform(-aj, aj);
    const angleRad = angleDiff(a, 0);
    const mag = mag0 * (1 + rng.uniform(-mj, mj));
    const phase = d === 0 && o.phaseRad !== undefined ? o.phaseRad : rng.uniform(-Math.PI, Math.PI);
    return trueOrientation(angleRad, mag, phase, rng.uniform(mLo, mHi));
  });
  return { orientations };
}

export function trueOrientation(
  angleRad: number,
  magnitudePerUm: number,
  phaseRad: number,
  m: number,
): TrueOrientation {
  const a = m / 2 / (1 + (m * m) / 4);
  return {
    k0PerUm: [magnitudePerUm * Math.cos(angleRad), magnitudePerUm * Math.sin(angleRad)],
    angleRad,
    magnitudePerUm,
    spacingUm: 1 / magnitudePerUm,
    phaseRad,
    modamp: [a * Math.cos(-phaseRad), a * Math.sin(-phaseRad)],
    modulation: m,
    fallback: false,
  };
}
