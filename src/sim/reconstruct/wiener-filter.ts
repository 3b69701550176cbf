// The frequency-space weights of the Wiener combination on the 2× grid (ALGORITHMS.md §8 steps
// 4–5): shifted OTFs, the notch at band centres, and the apodization to a target OTF.
import { meshgrid, type Tensor, tensor, tidy } from '../../engine/index.js';
import { axisFrequencies, frequencySteps, type ImageGrid } from '../grid.js';
import type { OtfLookup, OtfTable } from '../otf.js';

/** Frequency grids qx, qy (cycles/µm, FFT order) of a grid, float32 [H, W] each. */
export function frequencyGrids(g: ImageGrid, device: string): { qx: Tensor; qy: Tensor } {
  const { dkx, dky } = frequencySteps(g);
  return tidy(() => {
    const o = { dtype: 'float32', device } as const;
    const [qy, qx] = meshgrid(
      tensor(axisFrequencies(g.height, dky, 'fft'), [g.height], o),
      tensor(axisFrequencies(g.width, dkx, 'fft'), [g.width], o),
    ) as [Tensor, Tensor];
    return { qx, qy };
  });
}

/** OTF(|q − c|) on the grid: the OTF whose centre sits at c (cycles/µm). */
export function otfCentredAt(lookup: OtfLookup, q: { qx: Tensor; qy: Tensor }, c: [number, number]): Tensor {
  return tidy(() => lookup.at(q.qx.sub(c[0]).square().add(q.qy.sub(c[1]).square()).sqrt()));
}

export interface Notch {
  /** Depth s of the dip, 0–1 (fairSIM's default 0.99 nearly removes the band centre). */
  strength: number;
  /** Full width at half maximum of the dip, cycles/µm (fairSIM's default 1.2). */
  fwhmPerUm: number;
}

/** A(q) = 1 − s·exp(−|q − c|²/(2σ²)): damps the over-weighted, background-laden band centre. */
export function notchAt(q: { qx: Tensor; qy: Tensor }, c: [number, number], n: Notch): Tensor {
  const sigma = n.fwhmPerUm / (2 * Math.sqrt(2 * Math.LN2));
  return tidy(() =>
    q.qx
      .sub(c[0])
      .square()
      .add(q.qy.sub(c[1]).square())
      .mul(-1 / (2 * sigma * sigma))
      .exp()
      .mul(-n.strength)
      .add(1),
  );
}

/** Radius (cycles/µm) beyond which the OTF stays below `fraction` of its peak: the effective cutoff. */
export function effectiveCutoffPerUm(t: OtfTable, fraction = 1e-3): number {
  let peak = 0;
  for (const v of t.values) peak = Math.max(peak, Math.abs(v));
  for (let i = t.values.length - 1; i >= 0; i--)
    if (Math.abs(t.values[i]!) > fraction * peak) return (i + 1) * t.stepPerUm;
  return 0;
}

/**
 * APO(q) = ideal(|q|/R)^β, ideal(s) = (2/π)(acos s − s√(1 − s²)) the circular-pupil OTF shape,
 * R = (F/2)·(kc + |k0|max): F = 2 ends the apodization exactly at the SIM support's edge.
 */
export function apodizationFilter(q: { qx: Tensor; qy: Tensor }, radiusPerUm: number, bend: number): Tensor {
  return tidy(() => {
    const s = q.qx.square().add(q.qy.square()).sqrt().div(radiusPerUm).clamp(0, 1);
    const root = s.square().rsub(1).clamp(0, null).sqrt();
    // acos s = atan2(√(1 − s²), s) (the engine has atan2, not acos).
    const ideal = root
      .atan2(s)
      .sub(s.mul(root))
      .mul(2 / Math.PI);
    return ideal.clamp(0, null).pow(bend);
  });
}
