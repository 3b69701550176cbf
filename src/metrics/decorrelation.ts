// Image resolution by decorrelation analysis (Descloux, Grußmayer & Radenovic, Nat. Methods
// 16:918, 2019; semantics of their public getDcorr). The image's phase-only spectrum In = Ĩ/|Ĩ|
// is correlated with the (high-pass filtered) spectrum Ir inside discs of normalized radius r:
//   d(r) = Σ_{|k|<r} Re(Ir·conj(In)) / (‖Ir‖ · ‖In restricted to |k|<r‖).
// Noise decorrelates In from Ir at high frequency, so d(r) peaks at the highest frequency that
// still carries signal. Repeating with Gaussian high-pass filters of decreasing width and a
// refinement pass, the largest peak position kc (1 = Nyquist) gives the resolution 2·px/kc.
import { fft, meshgrid, type Tensor, tensor, tidy } from '../engine/index.js';
import { ParameterError, ShapeError } from '../errors.js';

export interface DecorrelationOptions {
  /** Pixel size, µm: the resolution is reported in µm (else in pixels). */
  pixelSizeUm?: number;
  /** Radii sampled per curve (50, as getDcorr). */
  radii?: number;
  /** High-pass filters per pass (10, as getDcorr). */
  highPass?: number;
  /**
   * Largest normalized frequency analysed (default 1 = Nyquist). Set it to the support of images
   * whose spectrum is zero beyond some radius (zero-padded upsampling, an apodized SIM
   * reconstruction): beyond it there is neither signal nor noise, only rounding residue.
   */
  maxFrequency?: number;
}

export interface DecorrelationResult {
  /** Highest significant peak position, normalized frequency (1 = Nyquist). */
  kc: number;
  /** Peak amplitude of the unfiltered curve (an SNR-like image contrast). */
  a0: number;
  /** 2/kc pixels, times the pixel size when given: µm, else pixels. */
  resolution: number;
  unit: 'µm' | 'px';
  /** Spatial frequency kc in cycles/µm (only with a pixel size). */
  cutoffPerUm: number | null;
}

/** Peaks below this amplitude are unphysical (getDcorr's 0.05). */
const MIN_PEAK = 0.05;
/** A peak must rise this much above the minimum after it (numerical noise guard, getDcorr's 0.001). */
const PEAK_SIGNIFICANCE = 0.001;

/** Decorrelation resolution of a 2D image [y, x]. */
export function decorrelationResolution(image: Tensor, o: DecorrelationOptions = {}): DecorrelationResult {
  if (image.rank !== 2)
    throw new ShapeError(`decorrelation analysis needs one image [y, x], found shape [${image.shape.join(', ')}]`);
  const nr = o.radii ?? 50;
  const ng = o.highPass ?? 10;
  if (!(Number.isInteger(nr) && nr >= 30)) throw new ParameterError('radii', 'an integer ≥ 30', nr);
  if (!(Number.isInteger(ng) && ng >= 10)) throw new ParameterError('high-pass filters', 'an integer ≥ 10', ng);
  const maxRequested = o.maxFrequency ?? 1;
  if (!(maxRequested > 0 && maxRequested <= 1))
    throw new ParameterError('maxFrequency', 'a normalized frequency in (0, 1]', maxRequested);
  // Odd sizes put the zero frequency exactly at the centre of the [-1, 1] normalized grid.
  const h = image.dim(0) - (image.dim(0) % 2 === 0 ? 1 : 0);
  const w = image.dim(1) - (image.dim(1) % 2 === 0 ? 1 : 0);
  if (h < 15 || w < 15)
    throw new ShapeError(`decorrelation analysis needs at least 16×16 pixels, found ${image.dim(0)}×${image.dim(1)}`);
  const { radius, sigmaFreq2, spectrumNorm, spectrum, support } = tidy(() =>
    prepareSpectra(image.narrow(0, 0, h).narrow(1, 0, w), maxRequested),
  );
  // Analyse only up to where the spectrum holds anything: beyond the support of a zero-padded or
  // apodized image d(r) is flat, and the start of that plateau would pass for a peak.
  const maxR = Math.min(maxRequested, support);
  try {
    const curve = new CurveMaker(radius.toArray() as Float64Array);
    const inArr = spectrumNorm.toArray() as Float64Array; // interleaved re, im
    const curveFor = (sigmaPx: number | null, r: Float64Array): Float64Array =>
      curve.evaluate(
        tidy(() => filtered(spectrum, sigmaFreq2, sigmaPx).toArray() as Float64Array),
        inArr,
        r,
      );

    const r0 = linspace(0, maxR, nr);
    const d0 = curveFor(null, r0);
    const p0 = peak(d0);
    const res0 = r0[p0.index] as number;
    let gMax = res0 > 0 ? 2 / res0 : Math.max(h, w) / 2;
    if (!Number.isFinite(gMax)) gMax = Math.max(h, w) / 2;
    let g = geomspace(gMax, 0.15, ng);
    let r = r0;
    const kc: number[] = [];
    const amp: number[] = [];
    for (let pass = 0; pass < 2; pass++) {
      const passKc: number[] = [];
      const passAmp: number[] = [];
      for (const sigma of g) {
        const p = peak(curveFor(sigma, r));
        passKc.push(r[p.index] as number);
        passAmp.push(p.value);
      }
      kc.push(...passKc);
      amp.push(...passAmp);
      if (pass === 0) {
        // Refine the filter range between the best geometric-mean and the highest-kc filters,
        // and the radius range around the best geometric-mean peak (as getDcorr does).
        const gm = passKc.map((k, i) => (passAmp[i]! < MIN_PEAK || k === 0 ? 0 : Math.sqrt(k * passAmp[i]!)));
        const kcValid = passKc.map((k, i) => (passAmp[i]! < MIN_PEAK ? 0 : k));
        const iGm = argmax(gm);
        const iMax = argmax(kcValid);
        let i1 = Math.min(iGm, iMax);
        let i2 = Math.max(iGm, iMax);
        if (i1 === 0) {
          i1 = 0;
          i2 = 0;
        } else if (i2 === g.length - 1) {
          i2 = g.length - 2;
        }
        g = geomspace(g[i1]!, g[i2 + 1]!, ng);
        const center = kcValid[iGm]!;
        r = linspace(Math.max(0, center - 0.05), Math.min(maxR, center + 0.3), nr);
      }
    }
    kc.push(res0);
    amp.push(p0.value);
    let best = 0;
    for (let i = 0; i < kc.length; i++) if (amp[i]! >= MIN_PEAK && kc[i]! > best) best = kc[i]!;
    const px = o.pixelSizeUm;
    const resolutionPx = best > 0 ? 2 / best : Number.POSITIVE_INFINITY;
    return {
      kc: best,
      a0: p0.value,
      resolution: px === undefined ? resolutionPx : resolutionPx * px,
      unit: px === undefined ? 'px' : 'µm',
      cutoffPerUm: px === undefined ? null : best / (2 * px),
    };
  } finally {
    for (const t of [radius, sigmaFreq2, spectrumNorm, spectrum]) t.dispose();
  }
}

/** Spectra in FFT order (order does not matter: every step is a sum over frequencies). */
function prepareSpectra(im: Tensor, maxR: number) {
  const h = im.dim(0);
  const w = im.dim(1);
  const x = im.to('float64');
  const opts = { dtype: 'float64', device: im.device } as const;
  // Normalized frequency: ±1 at the last sample of each odd-length axis (getDcorr's linspace(−1, 1)).
  const fy = tensor(
    fftIndex(h).map((m) => m / ((h - 1) / 2)),
    [h],
    opts,
  );
  const fx = tensor(
    fftIndex(w).map((m) => m / ((w - 1) / 2)),
    [w],
    opts,
  );
  const [yy, xx] = meshgrid(fy, fx) as [Tensor, Tensor];
  const radius = yy.square().add(xx.square()).sqrt();
  const inside = radius.lt(maxR);
  // Spatial frequency² in cycles/pixel² for the Gaussian filters (|f| ≤ 1/2 per axis).
  const cy = tensor(
    fftIndex(h).map((m) => m / h),
    [h],
    opts,
  );
  const cx = tensor(
    fftIndex(w).map((m) => m / w),
    [w],
    opts,
  );
  const [cyy, cxx] = meshgrid(cy, cx) as [Tensor, Tensor];
  const sigmaFreq2 = cyy.square().add(cxx.square());
  const raw = fft.fft2(x);
  const mag = raw.abs();
  // Phase-only spectrum, zero where the magnitude is rounding residue (≤ 1e-9 of the peak: a
  // phase there is random and would count as decorrelated signal) and outside the analysed disc.
  const present = mag.gt(mag.max().item() * 1e-9);
  const unit = raw.div(mag.where(present, mag.add(1)));
  const zero = unit.mul(0);
  let spectrumNorm = unit.where(inside.logicalAnd(present), zero);
  // The mean (zero frequency) never takes part.
  spectrumNorm = spectrumNorm.mul(radius.gt(0).to('float64'));
  const supportRadius = radius.mul(present.to('float64')).max().item();
  const std = x.std().item();
  const spectrum = fft.fft2(x.sub(x.mean()).div(std > 0 ? std : 1)).mul(inside.to('float64'));
  return { radius, sigmaFreq2, spectrumNorm: spectrumNorm.viewAsReal().contiguous(), spectrum, support: supportRadius };
}

/** Ir = Ik·(1 − Gaussian(σ px)) as interleaved re, im; σ = null: no filter. */
function filtered(spectrum: Tensor, sigmaFreq2: Tensor, sigmaPx: number | null): Tensor {
  // Fourier transform of a unit-sum Gaussian of σ pixels: exp(−2π²σ²|f|²), f in cycles/pixel.
  const out =
    sigmaPx === null
      ? spectrum
      : spectrum.mul(
          sigmaFreq2
            .mul(-2 * Math.PI ** 2 * sigmaPx ** 2)
            .exp()
            .rsub(1),
        );
  return out.viewAsReal().contiguous();
}

/** d(r) for many radii at once: sort pixels by radius once, then cumulative sums. */
class CurveMaker {
  readonly order: Uint32Array;
  readonly sortedRadius: Float64Array;
  constructor(radius: Float64Array) {
    const idx = Array.from(radius.keys()).sort((a, b) => radius[a]! - radius[b]!);
    this.order = Uint32Array.from(idx);
    this.sortedRadius = Float64Array.from(idx, (i) => radius[i]!);
  }
  evaluate(ir: Float64Array, inn: Float64Array, radii: Float64Array): Float64Array {
    const n = this.order.length;
    let irNorm2 = 0;
    for (let i = 0; i < 2 * n; i++) irNorm2 += ir[i]! * ir[i]!;
    const c = Math.sqrt(irNorm2);
    const out = new Float64Array(radii.length);
    // Walk radii in increasing order, accumulating pixels with |k| < r (strict, as getDcorr).
    const byR = Array.from(radii.keys()).sort((a, b) => radii[a]! - radii[b]!);
    let j = 0;
    let cross = 0;
    let norm2 = 0;
    for (const ri of byR) {
      const r = radii[ri]!;
      while (j < n && this.sortedRadius[j]! < r) {
        const p = this.order[j]!;
        const re = inn[2 * p]!;
        const im = inn[2 * p + 1]!;
        cross += ir[2 * p]! * re + ir[2 * p + 1]! * im;
        norm2 += re * re + im * im;
        j++;
      }
      const v = cross / (c * Math.sqrt(norm2));
      out[ri] = Number.isFinite(v) ? v : 0;
    }
    return out;
  }
}

/** getDcorrMax: the highest maximum that is not the last sample and stands out from what follows. */
export function peak(d: Float64Array): { index: number; value: number } {
  let end = d.length;
  const t = Array.from(d);
  let idx = argmax(t.slice(0, end));
  while (idx === end - 1) {
    end--;
    if (end === 0) return { index: 0, value: 0 };
    idx = argmax(t.slice(0, end));
    let after = Number.POSITIVE_INFINITY;
    for (let i = idx; i < d.length; i++) after = Math.min(after, d[i]!);
    if (t[idx]! - after > PEAK_SIGNIFICANCE) break;
    t[idx] = after;
    idx = end - 1;
  }
  return { index: idx, value: t[idx]! };
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}
function linspace(a: number, b: number, n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => (n === 1 ? a : a + ((b - a) * i) / (n - 1)));
}
function geomspace(a: number, b: number, n: number): number[] {
  return Array.from(linspace(Math.log(a), Math.log(b), n), Math.exp);
}
/** FFT-order integer frequencies of an axis of n samples. */
function fftIndex(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i < n - Math.floor(n / 2) ? i : i - n));
}
