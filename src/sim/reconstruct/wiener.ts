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
// How it runs (so that a 2048² cycle takes seconds and ~4 planes of the 2× grid, not ~100): one
// orientation at a time; band− is band+ mirrored and conjugated (the frames are real), so only
// band+ makes the 2× grid's round trip; each band's weights are zero beyond the OTF's support
// around its centre, so they are computed on the host over that box and the band is added into
// the sums num and den there (wiener-bands.ts BandBox). The same sums as the whole-plane form up to
// rounding, but for the raw grid's Nyquist row and column: zero padding put them at label −N/2
// for band+ and band− alike, the mirror puts band−'s at +N/2 (its own mirror image); through the
// sub-pixel shift's leakage that moved MT.mrc's reconstruction by 5e-4 of its rms (a simulated
// 2048² cycle's by 4e-5).
import { complex, fft, memory, type Tensor, tensor, tidy, zeros } from '../../engine/index.js';
import { ParameterError, ShapeError } from '../../errors.js';
import { apodize } from '../apodize.js';
import { equalizationFactors } from '../equalize.js';
import { frequencySteps, type ImageGrid } from '../grid.js';
import { type OtfTable, otfTableForGrid, type RadialOtf } from '../otf.js';
import type { SimParameters } from '../params.js';
import {
  addCentred,
  type BandBox,
  bandPair,
  centredBox,
  type OrientationPattern,
  shiftedBox,
  upsampleAndShift,
} from './wiener-bands.js';
import {
  apodizationPlane,
  bandWeights,
  effectiveCutoffPerUm,
  halfPixelFactor,
  modulationWeights,
  type Notch,
  supportRadiusPerUm,
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
  const steps = frequencySteps(fine);
  const dk = { dky: steps.dky, dkx: steps.dkx };
  // A band's box: ± the OTF's support around its centre (one step more against rounding), within the 2× grid.
  const reach = supportRadiusPerUm(table);
  const hb: [number, number] = [
    Math.min(H - 1, Math.ceil(reach / dk.dky) + 1),
    Math.min(W - 1, Math.ceil(reach / dk.dkx) + 1),
  ];
  const cutoff = effectiveCutoffPerUm(table);
  const opts = { dtype: 'float32', device } as const;
  const box = [2 * hb[0] + 1, 2 * hb[1] + 1];
  const checkpoint = memoryProbe();
  return tidy(() => {
    // (Scoped: every handle, views too, holds its storage, and the probe counts each.)
    const pre = tidy(() => preprocess(frames.to({ device }), p));
    checkpoint();
    // Σ over orientations of band+'s terms and band 0's spectra; band−'s terms are band+'s mirrored
    // and conjugated (real frames), added alongside. num: complex, den: real, 2× grid, FFT order.
    const num = zeros([2 * H, 2 * W], { dtype: 'complex64', device });
    const den = zeros([2 * H, 2 * W], opts);
    const b0sum = zeros(box, { dtype: 'complex64', device });
    const modulations: number[] = [];
    for (let d = 0; d < D; d++) {
      const pat = patterns[d]!;
      const [kx, ky] = pat.k0PerUm;
      tidy(() => {
        const { b0, bp } = tidy(() => bandPair(pre.select(0, d), pat, dx));
        const b0box = centredBox(b0, hb);
        b0.dispose();
        b0sum.add_(b0box);
        // band+ holds the object centred at +k: moved by −k to line up with band 0.
        const side = shiftedBox(bp, [-kx, -ky], dx, hb);
        bp.dispose();
        checkpoint();
        const m =
          o.modulation === 'given'
            ? givenModulation(pat, d)
            : measureModulation(b0box, side, hb, table, dk, [-kx, -ky], 0.15 * cutoff);
        modulations.push(m);
        const { wa, wd } = bandWeights(table, notch, hb, dk, side.fraction);
        const term = side.box.mul(tensor(wa, box, opts)).mul(m);
        side.box.dispose();
        const power = tensor(wd, box, opts).mul(m * m);
        addCentred(num, term, side.offset);
        addCentred(den, power, side.offset);
        // band−: the mirror image (labels −q), conjugated, around +k.
        const mirrored: [number, number] = [-side.offset[0], -side.offset[1]];
        addCentred(num, term.flip([0, 1]).conj(), mirrored);
        addCentred(den, power.flip([0, 1]), mirrored);
        checkpoint();
      });
    }
    tidy(() => {
      const { wa, wd } = bandWeights(table, notch, hb, dk, [0, 0]);
      addCentred(num, b0sum.mul(tensor(wa, box, opts)), [0, 0]);
      addCentred(den, tensor(wd, box, opts), [0, 0], D);
    });
    b0sum.dispose();
    const kMax = Math.max(...patterns.map((pt) => Math.hypot(pt.k0PerUm[0], pt.k0PerUm[1])));
    tidy(() => {
      num.div_(den.add_(w * w));
      den.dispose();
      num.mul_(tensor(apodizationPlane(fine, (F / 2) * (cutoff + kMax), bend), [2 * H, 2 * W], opts));
      // The half-pixel shift e^{−iπ(νy + νx)} (halfPixelShift), one factor per axis.
      const [yr, yi] = halfPixelFactor(2 * H);
      const [xr, xi] = halfPixelFactor(2 * W);
      num.mul_(complex(tensor(yr, [2 * H, 1], opts), tensor(yi, [2 * H, 1], opts)));
      num.mul_(complex(tensor(xr, [1, 2 * W], opts), tensor(xi, [1, 2 * W], opts)));
    });
    checkpoint();
    // ×4: the 2× grid has four times the samples, so the unnormalized inverse FFT of the padded
    // spectrum is 1/4 of the raw image's level; this keeps output ≈ counts per raw pixel.
    const complexImage = fft.ifft2(num);
    num.dispose();
    checkpoint();
    const image = complexImage.real().mul(4);
    complexImage.dispose();
    if (o.clip !== false) image.clamp_(0, null);
    checkpoint();
    return { image, modulations };
  });
}

/**
 * Live tensor bytes (the engine's count) over the last wienerReconstruct, at its checkpoints
 * (after each step that allocates 2× grid planes): for tests that pin its memory to a few planes.
 */
let wienerPeak = 0;
export function lastWienerPeakBytes(): number {
  return wienerPeak;
}
function memoryProbe(): () => void {
  const base = memory().liveBytes;
  wienerPeak = 0;
  return () => {
    wienerPeak = Math.max(wienerPeak, memory().liveBytes - base);
  };
}

/** Background subtraction (clip at 0), edge apodization, intensity equalization (float32). */
export function preprocess(frames: Tensor, p: SimParameters): Tensor {
  // In place after the first copy: on a 2048² cycle each copy of the frames is 150 MB.
  return tidy(() => {
    const clean = frames.to('float32').sub(p.backgroundCounts);
    clean.clamp_(0, null);
    const tapered = apodize(clean, p.apodizationPx);
    clean.dispose();
    const factors = equalizationFactors(tapered);
    tapered.mul_(
      tensor(Float64Array.from(factors), [factors.length, 1, 1, 1], { dtype: 'float32', device: frames.device }),
    );
    return tapered;
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
 * band− is band+ mirrored and conjugated, and band 0 is Hermitian where the mask holds, so band−'s
 * sums equal band+'s: band+'s alone give m. b0box: band 0 on labels −hb…hb; side: band+ on its
 * box; centre: band+'s centre, cycles/µm.
 */
function measureModulation(
  b0box: Tensor,
  side: BandBox,
  hb: [number, number],
  table: OtfTable,
  steps: { dky: number; dkx: number },
  centre: [number, number],
  awayFromDcPerUm: number,
): number {
  // Where the two boxes overlap, in labels of the 2× grid.
  const first: [number, number] = [0, 0];
  const size: [number, number] = [0, 0];
  for (const a of [0, 1] as const) {
    const lo = Math.max(-hb[a], side.offset[a] - hb[a]);
    const hi = Math.min(hb[a], side.offset[a] + hb[a]);
    if (hi < lo) return MIN_MODULATION;
    first[a] = lo;
    size[a] = hi - lo + 1;
  }
  const { cw, nw } = modulationWeights(table, first, size, steps, centre, awayFromDcPerUm);
  return tidy(() => {
    const opts = { dtype: 'float32', device: b0box.device } as const;
    const part = (t: Tensor, origin: [number, number]) =>
      t
        .narrow(0, first[0] - origin[0] + hb[0], size[0])
        .narrow(1, first[1] - origin[1] + hb[1], size[1])
        .viewAsReal();
    const x = part(b0box, [0, 0]);
    const y = part(side.box, side.offset);
    const cross = x
      .mul(y)
      .sum(-1)
      .mul(tensor(cw, size, opts))
      .to('float64')
      .sum()
      .item();
    const norm = x
      .square()
      .sum(-1)
      .mul(tensor(nw, size, opts))
      .to('float64')
      .sum()
      .item();
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
