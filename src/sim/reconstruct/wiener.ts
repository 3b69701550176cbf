// Wiener reconstruction of 2D linear SIM on a 2× grid (ALGORITHMS.md §8; the standard method of
// fairSIM and cudasirecon, written from the physics):
//   1. background subtraction (clip at 0), edge apodization, intensity equalization;
//   2. band separation with the known phases (wiener-bands.ts);
//   3. bands zero-padded onto the 2× grid and moved to their true positions (sub-pixel, by a
//      real-space phase ramp);
//   4. Wiener combination Σ conj(m·OTF_b)·A_b·B_b / (Σ m²|OTF_b|²·A_b + w²) with a notch A_b at
//      each band centre; the depth m of each orientation measured from its bands (see below);
//   5. apodization to a target OTF, inverse FFT, real part, clip at 0.
// Output grid: every camera pixel split into 2×2 output pixels (the simulator's ground-truth grid).
import { complex, fft, type Tensor, tensor, tidy } from '../../engine/index.js';
import { ParameterError, ShapeError } from '../../errors.js';
import { apodize } from '../apodize.js';
import { equalizeIntensity } from '../equalize.js';
import type { ImageGrid } from '../grid.js';
import { OtfLookup, type OtfTable, otfTableForGrid, type RadialOtf } from '../otf.js';
import type { SimParameters } from '../params.js';
import { type OrientationPattern, separateKnownPhases, upsampleAndShift } from './wiener-bands.js';
import {
  apodizationFilter,
  effectiveCutoffPerUm,
  frequencyGrids,
  type Notch,
  notchAt,
  otfCentredAt,
} from './wiener-filter.js';

export interface WienerPattern extends OrientationPattern {
  /** Modulation depth m from the estimate (used when modulation: 'given'). */
  modulation?: number;
}

export interface WienerOptions {
  /** Wiener parameter w > 0 (default 0.05; typical 0.005–0.5: larger is smoother, less noisy). */
  wiener?: number;
  /** Notch at each band centre (default fairSIM's s = 0.99, FWHM 1.2 cycles/µm); null: none. */
  notch?: Notch | null;
  /** Apodization: factor F (default 2) and bend β (default 0.9). */
  apodization?: { factor?: number; bend?: number };
  /**
   * 'measured' (default): m from a least-squares fit of each side band against band 0 where both
   * OTFs are strong (unbiased by noise, unlike |modamp|); 'given': the patterns' modulation.
   */
  modulation?: 'measured' | 'given';
  /** Clip negative values to 0 (default true). Off for spectral analysis: clipping is non-linear
   * and spreads energy to all frequencies. */
  clip?: boolean;
  device?: string;
}

export interface WienerResult {
  /** Reconstruction [2H, 2W], float32, ≥ 0. */
  image: Tensor;
  /** m used per orientation. */
  modulations: number[];
}

/** Fewer than this, the side bands of an orientation are effectively left out (m is clamped up to it). */
const MIN_MODULATION = 0.02;

export function checkWienerParameter(w: number): void {
  if (!(typeof w === 'number' && Number.isFinite(w) && w > 0))
    throw new ParameterError('Wiener parameter w', 'a finite number > 0', w);
}

/** Reconstructs one cycle [orientations, phases, H, W] of raw counts. */
export function wienerReconstruct(
  frames: Tensor,
  otf: RadialOtf,
  p: SimParameters,
  patterns: readonly WienerPattern[],
  o: WienerOptions = {},
): WienerResult {
  if (frames.rank !== 4)
    throw new ShapeError(`expected frames [orientations, phases, y, x], found shape [${frames.shape.join(', ')}]`);
  const [D, P, H, W] = frames.shape as [number, number, number, number];
  if (patterns.length !== D)
    throw new ShapeError(`${D} orientations in the data but ${patterns.length} in the parameters`);
  if (P < 3) throw new ShapeError(`band separation needs ≥ 3 phases, found ${P}`);
  if (H % 2 || W % 2) throw new ShapeError(`the Wiener reconstruction needs even image sizes, found ${H}×${W}`);
  const w = o.wiener ?? 0.05;
  checkWienerParameter(w);
  const notch = o.notch === undefined ? { strength: 0.99, fwhmPerUm: 1.2 } : o.notch;
  if (notch && !(notch.strength >= 0 && notch.strength <= 1 && notch.fwhmPerUm > 0)) {
    throw new ParameterError('notch', 'strength in [0, 1] and FWHM > 0 cycles/µm', notch);
  }
  const F = o.apodization?.factor ?? 2;
  const bend = o.apodization?.bend ?? 0.9;
  if (!(F > 0) || !(bend > 0)) throw new ParameterError('apodization', 'factor > 0 and bend > 0', { factor: F, bend });
  const device = o.device ?? frames.device;
  const dx = p.pixelSizeUm;
  const fine: ImageGrid = { height: 2 * H, width: 2 * W, pixelSizeUm: dx / 2 };
  const table: OtfTable = otfTableForGrid(otf, fine);
  const lookup = new OtfLookup(table, { dtype: 'float32', device });
  try {
    return tidy(() => {
      const pre = preprocess(frames.to({ device }), p);
      const q = frequencyGrids(fine, device);
      const o0 = otfCentredAt(lookup, q, [0, 0]);
      const a0 = notch ? notchAt(q, [0, 0], notch) : null;
      let num: Tensor | null = null;
      let den: Tensor | null = null;
      const modulations: number[] = [];
      for (let d = 0; d < D; d++) {
        const pat = patterns[d]!;
        const [kx, ky] = pat.k0PerUm;
        const bands = separateKnownPhases(pre.select(0, d), pat, dx);
        // band+ holds the object centred at +k: move it by −k (and band− by +k) to line up with band 0.
        const shifted = upsampleAndShift(
          bands,
          [
            [0, 0],
            [-kx, -ky],
            [kx, ky],
          ],
          dx,
        );
        const b0 = shifted.select(0, 0);
        const bp = shifted.select(0, 1);
        const bm = shifted.select(0, 2);
        const op = otfCentredAt(lookup, q, [-kx, -ky]);
        const om = otfCentredAt(lookup, q, [kx, ky]);
        const m =
          o.modulation === 'given' ? givenModulation(pat, d) : measureModulation(b0, bp, bm, o0, op, om, q, table);
        modulations.push(m);
        const ap = notch ? notchAt(q, [-kx, -ky], notch) : null;
        const am = notch ? notchAt(q, [kx, ky], notch) : null;
        const weight = (otfB: Tensor, notchB: Tensor | null, scale: number) =>
          (notchB ? otfB.mul(notchB) : otfB).mul(scale);
        const termNum = b0
          .mul(weight(o0, a0, 1))
          .add(bp.mul(weight(op, ap, m)))
          .add(bm.mul(weight(om, am, m)));
        const power = (otfB: Tensor, notchB: Tensor | null, scale: number) => {
          const s2 = otfB.square().mul(scale * scale);
          return notchB ? s2.mul(notchB) : s2;
        };
        const termDen = power(o0, a0, 1)
          .add(power(op, ap, m))
          .add(power(om, am, m));
        num = num === null ? termNum : num.add(termNum);
        den = den === null ? termDen : den.add(termDen);
      }
      const kMax = Math.max(...patterns.map((pt) => Math.hypot(pt.k0PerUm[0], pt.k0PerUm[1])));
      const apo = apodizationFilter(q, (F / 2) * (effectiveCutoffPerUm(table) + kMax), bend);
      const spectrum = num!
        .div(den!.add(w * w))
        .mul(apo)
        .mul(halfPixelShift(fine, device));
      // ×4: the 2× grid has four times the samples, so the unnormalized inverse FFT of the padded
      // spectrum is 1/4 of the raw image's level; this keeps output ≈ counts per raw pixel.
      const real = fft.ifft2(spectrum).real().mul(4);
      const image = (o.clip === false ? real : real.clamp(0, null)).contiguous();
      return { image, modulations };
    });
  } finally {
    lookup.dispose();
  }
}

/** Background subtraction (clip at 0), edge apodization, intensity equalization (float32). */
export function preprocess(frames: Tensor, p: SimParameters): Tensor {
  return tidy(() => {
    const clean = frames.to('float32').sub(p.backgroundCounts).clamp(0, null);
    const tapered = apodize(clean, p.apodizationPx);
    return equalizeIntensity(tapered).frames;
  });
}

function givenModulation(pat: WienerPattern, d: number): number {
  const m = pat.modulation;
  if (!(typeof m === 'number' && Number.isFinite(m) && m >= 0)) {
    throw new ParameterError(`orientations[${d}].modulation`, 'a number ≥ 0 (or measure it from the data)', m);
  }
  return Math.min(1, Math.max(MIN_MODULATION, m));
}

/**
 * m by least squares where both OTFs are ≥ 0.1 (and away from the zero-frequency region, which holds
 * unmodulated background): B± = m·OTF(q ± k)·S̃ and B0 = OTF(q)·S̃, so with X = B0·OTF(q ± k),
 * Y = B±·OTF(q), m = Re Σ conj(X)·Y / Σ|X|². Noise in B0 is far below that of the side bands.
 */
function measureModulation(
  b0: Tensor,
  bp: Tensor,
  bm: Tensor,
  o0: Tensor,
  op: Tensor,
  om: Tensor,
  q: { qx: Tensor; qy: Tensor },
  table: OtfTable,
): number {
  return tidy(() => {
    const awayFromDc = q.qx
      .square()
      .add(q.qy.square())
      .sqrt()
      .gt(0.15 * effectiveCutoffPerUm(table))
      .to('float32');
    let cross = 0;
    let norm = 0;
    for (const [band, otfB] of [
      [bp, op],
      [bm, om],
    ] as const) {
      const mask = o0.ge(0.1).logicalAnd(otfB.ge(0.1)).to('float32').mul(awayFromDc);
      const x = b0.mul(otfB.mul(mask));
      const y = band.mul(o0.mul(mask));
      cross += x.conj().mul(y).real().sum().item();
      norm += x.abs().square().sum().item();
    }
    const m = norm > 0 ? cross / norm : 0;
    return Math.min(1, Math.max(MIN_MODULATION, m));
  });
}

/** e^{−iπ(νy + νx)} (ν in cycles per output pixel): moves the result half an output pixel so that
 * camera pixel x covers output pixels 2x and 2x + 1 (zero padding alone puts it on output pixel 2x). */
function halfPixelShift(g: ImageGrid, device: string): Tensor {
  return tidy(() => {
    const ramp = (n: number) =>
      Float64Array.from({ length: n }, (_, i) => -Math.PI * ((i < n - n / 2 ? i : i - n) / n));
    const o = { dtype: 'float32', device } as const;
    const ay = tensor(ramp(g.height), [g.height, 1], o);
    const ax = tensor(ramp(g.width), [1, g.width], o);
    const arg = ay.add(ax);
    return complex(arg.cos(), arg.sin());
  });
}

/**
 * The widefield image (mean of all frames after preprocessing) on the same 2× grid as the
 * reconstruction, by zero padding its spectrum (no resolution added): the baseline to beat.
 * Not clipped, so its spectrum stays exactly zero beyond the raw grid's Nyquist frequency.
 */
export function widefield2x(frames: Tensor, p: SimParameters): Tensor {
  return tidy(() => {
    const [, , H, W] = frames.shape as [number, number, number, number];
    const wf = preprocess(frames, p).mean([0, 1]);
    const up = upsampleAndShift(fft.fft2(wf).unsqueeze(0), [[0, 0]], p.pixelSizeUm).select(0, 0);
    const fine: ImageGrid = { height: 2 * H, width: 2 * W, pixelSizeUm: p.pixelSizeUm / 2 };
    return fft
      .ifft2(up.mul(halfPixelShift(fine, frames.device)))
      .real()
      .mul(4)
      .clamp(0, null)
      .contiguous();
  });
}
