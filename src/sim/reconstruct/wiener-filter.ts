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

// ---- Host-side planes for the reconstruction on boxes (wiener.ts) ----
// The weights are radial around a band's centre and zero beyond the OTF's support, so they are
// computed on the host over that disc only (a few % of a 2048² cycle's 2× grid per band), in
// float64 and stored as float32, instead of some twenty passes over full 2× planes.

/** Radius (cycles/µm) beyond which the table is zero (linear interpolation ends at the sample after the last non-zero one). */
export function supportRadiusPerUm(t: OtfTable): number {
  for (let i = t.values.length - 1; i >= 0; i--) if (t.values[i] !== 0) return (i + 1) * t.stepPerUm;
  return 0;
}

/** The OTF's value at radius r (cycles/µm), as OtfLookup reads it: linear interpolation, the last sample beyond the table. */
function otfValue(t: OtfTable, r: number): number {
  const v = t.values;
  const x = Math.min(r / t.stepPerUm, v.length - 1);
  const j = Math.min(Math.floor(x), v.length - 2);
  return (v[j] as number) + (x - j) * ((v[j + 1] as number) - (v[j] as number));
}

/**
 * A band's Wiener weights on its box (labels −hb…hb, [y, x], index (y + hb_y)·(2hb_x + 1) + x + hb_x),
 * with the band's centre `centre` steps from the box's centre: wa = OTF·A (the numerator's
 * weight, before m) and wd = OTF²·A (the denominator's, before m²), A the notch (1 without one),
 * both at |q − centre|; zero beyond the OTF's support.
 */
export function bandWeights(
  t: OtfTable,
  notch: Notch | null,
  hb: [number, number],
  steps: { dky: number; dkx: number },
  centre: [number, number],
): { wa: Float32Array; wd: Float32Array } {
  const ny = 2 * hb[0] + 1;
  const nx = 2 * hb[1] + 1;
  const wa = new Float32Array(ny * nx);
  const wd = new Float32Array(ny * nx);
  const end = supportRadiusPerUm(t);
  const sigma = notch ? notch.fwhmPerUm / (2 * Math.sqrt(2 * Math.LN2)) : 1;
  const g = -1 / (2 * sigma * sigma);
  for (let y = 0; y < ny; y++) {
    const qy = (y - hb[0] - centre[0]) * steps.dky;
    const half = end * end - qy * qy;
    if (half <= 0) continue;
    // The disc's chord on this row (one step of slack; the radius test below is exact).
    const reach = Math.sqrt(half) / steps.dkx;
    const x0 = Math.max(0, Math.floor(hb[1] + centre[1] - reach) - 1);
    const x1 = Math.min(nx - 1, Math.ceil(hb[1] + centre[1] + reach) + 1);
    for (let x = x0; x <= x1; x++) {
      const qx = (x - hb[1] - centre[1]) * steps.dkx;
      const r2 = qx * qx + qy * qy;
      if (!(r2 < end * end)) continue;
      const otf = otfValue(t, Math.sqrt(r2));
      const a = notch ? 1 - notch.strength * Math.exp(r2 * g) : 1;
      wa[y * nx + x] = otf * a;
      wd[y * nx + x] = otf * otf * a;
    }
  }
  return { wa, wd };
}

/**
 * The modulation fit's weights (wiener.ts measureModulation) on the labels [y0, y0 + ny) ×
 * [x0, x0 + nx) of the 2× grid: with o0 = OTF(|q|), ob = OTF(|q − c|) (c the side band's centre,
 * cycles/µm) and the mask o0 ≥ 0.1, ob ≥ 0.1, |q| > awayFromDcPerUm: cw = o0·ob·mask (for
 * Re Σ conj(b0)·band·cw) and nw = ob²·mask (for Σ |b0|²·nw).
 */
export function modulationWeights(
  t: OtfTable,
  first: [number, number],
  size: [number, number],
  steps: { dky: number; dkx: number },
  centrePerUm: [number, number],
  awayFromDcPerUm: number,
): { cw: Float32Array; nw: Float32Array } {
  const [ny, nx] = size;
  const cw = new Float32Array(ny * nx);
  const nw = new Float32Array(ny * nx);
  for (let y = 0; y < ny; y++) {
    const qy = (first[0] + y) * steps.dky;
    for (let x = 0; x < nx; x++) {
      const qx = (first[1] + x) * steps.dkx;
      const r = Math.sqrt(qx * qx + qy * qy);
      if (!(r > awayFromDcPerUm)) continue;
      const o0 = otfValue(t, r);
      if (!(o0 >= 0.1)) continue;
      const ob = otfValue(t, Math.hypot(qx - centrePerUm[0], qy - centrePerUm[1]));
      if (!(ob >= 0.1)) continue;
      cw[y * nx + x] = o0 * ob;
      nw[y * nx + x] = ob * ob;
    }
  }
  return { cw, nw };
}

/**
 * apodizationFilter on a whole grid in FFT order, [H·W] float32, on the host: APO = ideal(|q|/R)^β
 * inside the radius R, zero beyond; each value computed once per (|qy|, |qx|) (the filter is even).
 */
export function apodizationPlane(g: ImageGrid, radiusPerUm: number, bend: number): Float32Array {
  const { dkx, dky } = frequencySteps(g);
  const { height: H, width: W } = g;
  const out = new Float32Array(H * W);
  const [yFirst, yLast] = [-Math.floor(H / 2), Math.ceil(H / 2) - 1];
  const [xFirst, xLast] = [-Math.floor(W / 2), Math.ceil(W / 2) - 1];
  const yMax = Math.min(Math.max(-yFirst, yLast), Math.floor(radiusPerUm / dky));
  const xMax = Math.min(Math.max(-xFirst, xLast), Math.floor(radiusPerUm / dkx));
  const at = (r: number) => {
    const s = r / radiusPerUm;
    const root = Math.sqrt(Math.max(0, 1 - s * s));
    const ideal = Math.max(0, ((Math.atan2(root, s) - s * root) * 2) / Math.PI);
    return ideal ** bend;
  };
  // On a square grid the radius depends on ax² + ay² alone, and many (ax, ay) share a sum: each sum's
  // value is computed once (a 2048² cycle's 2× grid: ~4× fewer of the costly power and arctangent).
  const square = dkx === dky;
  const bySum = square ? new Float64Array(yMax * yMax + xMax * xMax + 1).fill(Number.NaN) : null;
  for (let ay = 0; ay <= yMax; ay++) {
    const qy = ay * dky;
    for (let ax = 0; ax <= xMax; ax++) {
      const r = Math.sqrt((ax * dkx) ** 2 + qy * qy);
      if (!(r < radiusPerUm)) break;
      let v: number;
      if (bySum) {
        const k = ax * ax + ay * ay;
        v = bySum[k] as number;
        if (Number.isNaN(v)) {
          v = at(r);
          bySum[k] = v;
        }
      } else {
        v = at(r);
      }
      // The four labels (±ay, ±ax) that exist on the grid.
      const up = ay <= yLast ? ay * W : -1;
      const down = ay > 0 && -ay >= yFirst ? (H - ay) * W : -1;
      const right = ax <= xLast ? ax : -1;
      const left = ax > 0 && -ax >= xFirst ? W - ax : -1;
      if (up >= 0) {
        if (right >= 0) out[up + right] = v;
        if (left >= 0) out[up + left] = v;
      }
      if (down >= 0) {
        if (right >= 0) out[down + right] = v;
        if (left >= 0) out[down + left] = v;
      }
    }
  }
  return out;
}

/** e^{−iπν} along an axis of n samples, ν = label/n (FFT order): one factor of the half-pixel shift, [re, im]. */
export function halfPixelFactor(n: number): [Float32Array, Float32Array] {
  const re = new Float32Array(n);
  const im = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = -Math.PI * ((i < n - n / 2 ? i : i - n) / n);
    re[i] = Math.cos(a);
    im[i] = Math.sin(a);
  }
  return [re, im];
}
