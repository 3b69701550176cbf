// The description of one orientation's illumination pattern that the fit reports, the simulator's
// truth uses and the reconstruction reads (the `rdl estimate --json` convention), and the
// modulation depth recovered from the reference's modamp.

/** One orientation's illumination pattern in the `rdl estimate --json` convention (fit and simulator truth alike). */
export interface PatternOrientation {
  /** Pattern vector used downstream (after fallback), cycles/µm, [kx, ky] with x the column axis. */
  k0PerUm: [number, number];
  /** atan2(ky, kx), rad. */
  angleRad: number;
  /** |k0|, cycles/µm. */
  magnitudePerUm: number;
  /** Line spacing 1/|k0|, µm. */
  spacingUm: number;
  /**
   * Pattern phase φ0, rad, origin at pixel (H/2, W/2): I ∝ 1 + m cos(2πk0·r + φ0). The reference
   * fit: −arg(modamp); the robust fit: −arg of the SNR-weighted correlation (phase.ts).
   */
  phaseRad: number;
  /** The reference's normalised modamp [re, im]; |modamp| = (m/2)/(1 + m²/4) for ideal data. */
  modamp: [number, number];
  /** Modulation depth m recovered from |modamp| (see modulationDepth); noise biases it low. */
  modulation: number;
  /** True when the angle or the magnitude was replaced by the preset. */
  fallback: boolean;
}

/**
 * Modulation depth m from |modamp| = a: inverting a = (m/2)/(1 + m²/4) gives
 * m/2 = (1 − √(1 − 4a²))/(2a), the root with m ≤ 2 (m ≈ 2a for small a). a ≥ 1/2 is impossible
 * for ideal data (the maximum, at m = 2); such values (noise) are reported as 2.
 */
export function modulationDepth(absModamp: number): number {
  const a = Math.abs(absModamp);
  if (a === 0) return 0;
  if (a >= 0.5) return 2;
  return (1 - Math.sqrt(1 - 4 * a * a)) / a;
}
