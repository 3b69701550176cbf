// The object's signal-to-noise ratio per frequency, for the SNR weights of the phase correlation
// (phase.ts). Band 0 (the 3-frame sum) has power E|band0(q)|² = σ²·(1 + U(|q|)·H(q)²): σ² the white
// noise power per coefficient (shot and read noise alike), H the OTF, U the object's power over
// σ² before the OTF. σ² is the mean power beyond the OTF support, where only noise is; U comes
// from ring averages where the OTF is well above the noise (H > FIT_MIN_OTF), as a power law
// U = u1·ρ^γ, so that it extends smoothly to where H is too small to measure it (near the pattern
// frequency). Object spectra fall roughly so: γ ≈ −1.3 on MT.mrc.
import { Scratch, type Tensor, tidy } from '../../engine/index.js';
import { axisFrequencies, frequencySteps, gridKey, type ImageGrid, keptWhileSame } from '../grid.js';
import { type OtfTable, otfAt } from '../otf.js';

/** U(ρ) = u1·ρ^gamma (ρ in cycles/µm, at least one frequency step), or null where it cannot be fitted. */
export type ObjectSnr = { u1: number; gamma: number; minRadiusPerUm: number } | null;

/** Rings used for the fit: OTF above this (the ring average is then at least ~σ²·U·0.25%). */
const FIT_MIN_OTF = 0.05;
/** Noise-only frequencies start this factor beyond the OTF support's edge. */
const NOISE_MARGIN = 1.05;
/** Below this fraction of the spectrum beyond the support, no noise level (and no SNR weights). */
export const MIN_NOISE_FRACTION = 0.05;

/** Where only noise is: |q| beyond the OTF support (above `otfThreshold`) by NOISE_MARGIN, cycles/µm. */
export function noiseOnlyFromPerUm(table: OtfTable, otfThreshold: number): number {
  return supportEdge(table, otfThreshold) * NOISE_MARGIN;
}

/** U(ρ) at radius ρ, cycles/µm; Infinity where no fit exists (the weights then reduce to OTF ratios). */
export function snrAt(s: ObjectSnr, rho: number): number {
  if (s === null) return Number.POSITIVE_INFINITY;
  return s.u1 * Math.max(rho, s.minRadiusPerUm) ** s.gamma;
}

/**
 * Fits U per orientation from band 0 [D, y, x] (complex, FFT order; or its first ⌊x/2⌋ + 1 columns): the spectrum of the apodized
 * 3-frame sums, which is the reference fit's band 0 (bands.ts; apodization is linear, so apodizing
 * the frames or their sum gives the same), on grid g. otfThreshold: the OTF's support is where it
 * exceeds this.
 */
export function objectSnr(band0: Tensor, g: ImageGrid, table: OtfTable, otfThreshold: number): ObjectSnr[] {
  // The grid's sizes, not the tensor's: band0 may also be the half spectrum rfft2 gives (its last
  // dim already ⌊w/2⌋ + 1 wide), as the large-grid fit passes it (estimate.ts).
  const d = band0.dim(0);
  const { height: h, width: wd } = g;
  const half = Math.floor(wd / 2) + 1;
  // The sums are real, so the first ⌊w/2⌋ + 1 columns hold the whole spectrum: read as interleaved
  // (re, im), |X|² is taken in the loop below, in float64.
  const spectra = tidy(() => {
    const view = band0.narrow(-1, 0, half).viewAsReal();
    const out = (view.dtype === 'float64' ? SPECTRA64 : SPECTRA32).view(view.size);
    view.readInto(out);
    return out;
  });
  const { dkr } = frequencySteps(g);
  const noiseFrom = noiseOnlyFromPerUm(table, otfThreshold);
  const rings = Math.ceil(Math.hypot(h / 2, wd / 2)) + 2;
  const { ringOf, isNoise } = ringTables(g, noiseFrom);
  const out: ObjectSnr[] = [];
  for (let o = 0; o < d; o++) {
    const ringSum = new Float64Array(rings);
    const ringCount = new Float64Array(rings);
    let noiseSum = 0;
    let noiseCount = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < half; x++) {
        // Columns 1 … ⌈w/2⌉−1 of the half spectrum stand for two frequencies of the full one.
        const weight = x === 0 || 2 * x === wd ? 1 : 2;
        const at = 2 * ((o * h + y) * half + x);
        const p = (spectra[at] as number) ** 2 + (spectra[at + 1] as number) ** 2;
        if (isNoise[y * half + x] === 1) {
          noiseSum += weight * p;
          noiseCount += weight;
        }
        const ring = ringOf[y * half + x] as number;
        ringSum[ring] = (ringSum[ring] as number) + weight * p;
        ringCount[ring] = (ringCount[ring] as number) + weight;
      }
    }
    out.push(
      noiseCount >= MIN_NOISE_FRACTION * h * wd
        ? fitPowerLaw(ringSum, ringCount, noiseSum / noiseCount, dkr, table)
        : null,
    );
  }
  // A large grid's copy is let go (2048²: ~50 MB); a 256² fit's is kept.
  for (const b of [SPECTRA32, SPECTRA64]) b.trim();
  return out;
}

/** The spectra's host copy (objectSnr): ~0.8 MB per fit at 256² would otherwise go to the garbage collector. */
const SPECTRA32 = new Scratch(Float32Array);
const SPECTRA64 = new Scratch(Float64Array);

const RINGS = keptWhileSame<{ ringOf: Int32Array; isNoise: Uint8Array }>();

/**
 * Ring (radius in frequency steps, rounded) and noise flag (beyond noiseFrom, cycles/µm) of every
 * half-spectrum coefficient [y, x ≤ ⌊w/2⌋], the same for every orientation; the last grid's are
 * kept (shared, read-only).
 */
function ringTables(g: ImageGrid, noiseFrom: number): { ringOf: Int32Array; isNoise: Uint8Array } {
  return RINGS(`${gridKey(g)} ${noiseFrom}`, () => makeRingTables(g, noiseFrom));
}

function makeRingTables(g: ImageGrid, noiseFrom: number): { ringOf: Int32Array; isNoise: Uint8Array } {
  const { height: h, width: wd } = g;
  const half = Math.floor(wd / 2) + 1;
  const { dkx, dky, dkr } = frequencySteps(g);
  const fy = axisFrequencies(h, dky, 'fft');
  const ringOf = new Int32Array(h * half);
  const isNoise = new Uint8Array(h * half);
  for (let y = 0; y < h; y++) {
    const fyy = (fy[y] as number) ** 2;
    for (let x = 0; x < half; x++) {
      const rho = Math.sqrt((x * dkx) ** 2 + fyy);
      ringOf[y * half + x] = Math.round(rho / dkr);
      isNoise[y * half + x] = rho > noiseFrom ? 1 : 0;
    }
  }
  return { ringOf, isNoise };
}

/** Least-squares line log U = log u1 + γ·log ρ over the rings from 2 dk out to where H falls below FIT_MIN_OTF. */
function fitPowerLaw(sum: Float64Array, count: Float64Array, noise: number, dkr: number, table: OtfTable): ObjectSnr {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 2; i < sum.length; i++) {
    const rho = i * dkr;
    const otf = otfAt(table, rho);
    if (!(otf > FIT_MIN_OTF)) break;
    const n = count[i] as number;
    if (n === 0) continue;
    const u = ((sum[i] as number) / n / noise - 1) / otf ** 2;
    if (u > 0) {
      xs.push(Math.log(rho));
      ys.push(Math.log(u));
    }
  }
  if (xs.length < 3 || !(noise > 0)) return null;
  const n = xs.length;
  const mx = xs.reduce((a, v) => a + v, 0) / n;
  const my = ys.reduce((a, v) => a + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * ((ys[i] as number) - my);
    sxx += (x - mx) ** 2;
  });
  const gamma = sxy / sxx;
  const u1 = Math.exp(my - gamma * mx);
  return Number.isFinite(gamma) && Number.isFinite(u1) ? { u1, gamma, minRadiusPerUm: dkr } : null;
}

/** Largest radius (cycles/µm) at which the OTF table exceeds the threshold. */
export function supportEdge(table: OtfTable, threshold: number): number {
  let last = 0;
  table.values.forEach((v, i) => {
    if (v > threshold) last = i;
  });
  return last * table.stepPerUm;
}
