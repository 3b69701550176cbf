// The robust fit's phase uncertainty (reliability.phaseSdRad): the standard error of the weighted
// correlation's phase (phase.ts) from the cycle's own noise, so that a user sees how well the data
// determine it (MT.mrc: ±9°, ±7°, ±3° for its three orientations; simulated 256² cycles at 100
// photons: ±0.5°).
//
// The correlation S = Σ τ·conj(a)·b·e^{iψ(k)} (a = IFFT(W0·band0), b = IFFT(W1·B1), τ the edge
// taper) moves, to first order in the band noise, by δS = Σ τ·(conj(δa)·b + conj(a)·δb)·e^{iψ}:
// δa meets the spectrum of b·e^{iψ} (band 1's filtered spectrum shifted by k) through W0, δb that of
// a·e^{−iψ} through W1. For noise independent between pixels, of power P per coefficient in both
// bands (|e^{ijφ}| = 1) and spatial variance ∝ v̂(r) (mean 1):
//   E|δS|² = P/(H·W)²·(Σ_q (W1(q)·W0(q + k))²·|B1(q)|²·s_b + Σ_q (W0(q)·W1(q − k))²·|band0(q)|²·s_a),
// with s_b = Σ v̂·τ²·|b|²/Σ|b|² (s_a the same with |a|²) the taper's and the uneven noise's share:
// shot noise lies where the sample is, and so does the signal (without v̂ the errors on simulated
// microtubules came out 1.6–2× their predicted size). Half of E|δS|² lies across S:
// σφ = √(E|δS|²/2)/|S|.
// P and v̂ come from band 0's spectrum beyond the OTF support, where only noise is: P is its mean
// power, and its inverse transform is the noise alone, whose |·|² over its mean maps v̂. A central
// block of half the size around the Nyquist frequency (when both sides are multiples of 4) makes
// that map on a 2× coarser grid for a quarter of the transform; on simulated cycles it predicted
// about as well as the full grid's (error/σφ rms 0.94–1.15 against 0.87–1.09).
// Band 1's noise power is taken as band 0's. Noise common to all frames (a fixed pattern) adds up
// in band 0 and cancels in band 1: on MT.mrc band 0's is ~12% higher, so its σφ are ≤ 6% high.
// σφ holds k0 fixed; k0's own error moves the phase too, but on the test cycles below the errors
// over σφ have an rms of 0.9–1.3 all the same (256² at 30–10,000 photons, 130² at 100;
// test/sim/robust-accuracy.test.ts, test/sim/phase-noise.test.ts). Without a pattern the first-order
// estimate understates the error (~20° against random phases), but it is past the 10° warning there.
import { cat, fft, type Tensor, tensor, tidy } from '../../engine/index.js';
import { gridKey, type ImageGrid, keptWhileSame } from '../grid.js';
import { type KCandidate, perCandidate } from './candidates.js';
import type { Modamp } from './search.js';
import { MIN_NOISE_FRACTION } from './snr.js';

/** The weighted correlation of band 0 with the shifted band 1 for a batch of candidates (PhaseCorrelator's output). */
export interface Correlation {
  /** τ·conj(a)·b [b, y, x] complex. */
  cross: Tensor;
  /** Σ|a|² [b]: a normalisation only. */
  den: Tensor;
  /** For phaseErrors (below). */
  parts: {
    /** Σ (W0(q)·W1(q − k))²·|band0(q)|² and Σ (W1(q')·W0(q' + k))²·|B1(q')|² [b·2] (0 without a noise estimate). */
    spreads: Float64Array;
    /** Σ|W0·band0|², Σ|W1·B1|² [b·2]: H·W times Σ|a|², Σ|b|² (0 without a noise estimate). */
    energies: Float64Array;
    /** Σ τ²·v̂·|a|², Σ τ²·v̂·|b|² [b, 2] (v̂: phase-noise.ts's noise map; null without one). */
    mapSums: Tensor | null;
  };
}

export interface BandNoise {
  /** Noise power per coefficient, per orientation [D]. */
  power: Float64Array;
  /** τ²·v̂ [D, 1, y·x, 2] (each value twice: it weighs the real and imaginary parts alike). */
  map: Tensor;
}

/**
 * The noise-only block of the spectrum: FFT-order rows [top, top + rows) and columns [left, left +
 * cols), the mask of its coefficients beyond the support and their count, and the coarse grid's
 * pixel size in grid pixels.
 */
interface NoiseBlock {
  top: number;
  left: number;
  rows: number;
  cols: number;
  mask: Float32Array;
  count: number;
  factor: 1 | 2;
}

const BLOCK = keptWhileSame<NoiseBlock>();

function noiseBlock(g: ImageGrid, radius: Float64Array, fromPerUm: number): NoiseBlock {
  const { height: h, width: w } = g;
  const factor = h % 4 === 0 && w % 4 === 0 ? 2 : 1;
  const rows = h / factor;
  const cols = w / factor;
  // Half size: FFT-order indices h/4 … 3h/4 − 1 are the frequencies from h/4 up to the Nyquist and
  // back from −h/2 to −h/4 − 1, a contiguous block around the Nyquist frequency.
  const top = factor === 2 ? h / 4 : 0;
  const left = factor === 2 ? w / 4 : 0;
  const mask = new Float32Array(rows * cols);
  let count = 0;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      if ((radius[(top + y) * w + left + x] as number) >= fromPerUm) {
        mask[y * cols + x] = 1;
        count++;
      }
    }
  }
  return { top, left, rows, cols, mask, count, factor };
}

/**
 * The noise of bands [D, 2, y, x] (complex, FFT order, unapodized) on grid g from band 0 beyond
 * `fromPerUm` (cycles/µm; radius: |q| per bin, FFT order); null where too little of it lies there.
 * taper [y, x]: the correlation's edge taper. Created in the caller's scope.
 */
export function bandNoise(
  bands: Tensor,
  taper: Tensor,
  g: ImageGrid,
  radius: Float64Array,
  fromPerUm: number,
): BandNoise | null {
  const { height: h, width: w } = g;
  const b = BLOCK(`${gridKey(g)}>${fromPerUm}`, () => noiseBlock(g, radius, fromPerUm));
  // As objectSnr, too little noise-only spectrum (here: of the block) gives no estimate.
  if (b.count < MIN_NOISE_FRACTION * b.rows * b.cols) return null;
  const real = bands.dtype === 'complex128' ? 'float64' : 'float32';
  return tidy(() => {
    const d = bands.dim(0);
    const mask = tensor(b.mask, [b.rows, b.cols, 1], { dtype: real, device: bands.device });
    const block = bands
      .select(1, 0)
      .narrow(1, b.top, b.rows)
      .narrow(2, b.left, b.cols)
      .viewAsReal()
      .mul(mask)
      .viewAsComplex();
    // The block's own transform: the noise frequency-shifted (which leaves |·|² alone), one sample
    // per factor² pixels.
    const v = fft.ifft2(block).abs().square(); // [D, rows, cols]
    const sums = v.sum([1, 2]).to('float64').toArray() as Float64Array;
    // Parseval: Σ_q |masked block|² = rows·cols·Σ_r v.
    const power = Float64Array.from(sums, (s) => (s * b.rows * b.cols) / b.count);
    const f = b.factor;
    const relative = v.div(v.mean([1, 2], true));
    const fine =
      f === 1
        ? relative
        : relative.reshape([d, b.rows, 1, b.cols, 1]).expand([d, b.rows, f, b.cols, f]).reshape([d, h, w]);
    const map = fine
      .mul(taper.square())
      .reshape([d, 1, h * w, 1])
      .expand([d, 1, h * w, 2])
      .contiguous();
    return { power, map };
  });
}

/**
 * Σ τ²·v̂·|a|² and Σ τ²·v̂·|b|² [n, 2] for the filtered band images [n, 2, y, x] (complex) of these
 * candidates. Created in the caller's scope.
 */
export function noiseSums(noise: BandNoise, filtered: Tensor, cands: readonly KCandidate[]): Tensor {
  const [n, , h, w] = filtered.shape as [number, number, number, number];
  const map = perCandidate(noise.map, cands);
  // Through the real view: re² + im² weighed alike, cheaper than |·| then squaring.
  return filtered
    .viewAsReal()
    .reshape([n, 2, h * w, 2])
    .square()
    .mul(map)
    .sum([2, 3]);
}

/**
 * Standard error of each phase −arg(values[i]), values[i] = Σ cross·e^{iψ}/den read from the
 * correlations c built for cands[i] on grid g, rad; null without a noise estimate (or a
 * correlation: no pattern at all).
 */
export function phaseErrors(
  noise: BandNoise | null,
  c: Correlation,
  cands: readonly KCandidate[],
  values: readonly Modamp[],
  g: ImageGrid,
): (number | null)[] {
  const { spreads, energies, mapSums } = c.parts;
  if (noise === null || mapSums === null) return cands.map(() => null);
  const n = cands.length;
  const sums = tidy(() => cat([mapSums.flatten(), c.den]).to('float64').toArray() as Float64Array);
  const hw = g.height * g.width;
  return cands.map((cand, i) => {
    let variance = 0;
    for (let side = 0; side < 2; side++) {
      // s = Σ τ²·v̂·|·|²/Σ|·|², with Σ_r |a|² = energy/(H·W) (Parseval). Side a's spread carries
      // band 1's noise, side b's band 0's.
      const share = (sums[2 * i + side] as number) / ((energies[2 * i + side] as number) / hw);
      variance += (spreads[2 * i + side] as number) * share;
    }
    variance *= (noise.power[cand.orientation] as number) / hw ** 2;
    const s = Math.hypot(...(values[i] as Modamp)) * (sums[2 * n + i] as number);
    const sd = Math.sqrt(variance / 2) / s;
    return Number.isFinite(sd) ? sd : null;
  });
}
