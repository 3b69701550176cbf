// The robust fit's phase (and final k0) estimator: an SNR-weighted correlation of band 0 with the
// shifted band 1, built so that noise-free data give the phase exactly and noisy data come close to
// the Cramér–Rao bound. For frames D_j = [S·(1 + m cos(2πk·r + φ0 + 2πj/3))]⊛PSF (bands.ts), with
// H(q) the OTF and band 1 demodulated by e^{iψ} (ψ as in overlap.ts):
//   band0(q) = 3·S̃(q)·H(q),   B1(q − k) = (3m/2)·e^{−iφ0}·S̃(q)·H(q − k).
// What differs from the reference's modamp (overlap.ts), and why (simulated cycles, 100 peak photons):
//  1. No camera offset in band 0's DC: the reference's DC term (offset 100 counts ≫ ~10 photons)
//     outweighs every other frequency, so its noise dominates (128²: 2.2° → 1.3° rms at the true
//     k0 from this alone). Band 0's DC is dropped: one coefficient of thousands, and the estimate
//     no longer depends on offset or background.
//  2. Exact on noise-free data: with weights W0 = H(q−k)·f(q) on band 0 and W1 = H(q)·f(q) on band 1
//     (f real), both filtered images are the same object seen through the same transfer function
//     H(q)·H(q−k)·f(q), so conj(A)·B = (m/2)·e^{−iφ0}·|A|² pixel by pixel, except where the filter
//     kernels reach across the image edge. So the frames are used unapodized (apodization does not
//     commute with the pattern) and the products are summed under a raised-cosine taper TAPER_UM
//     wide at each edge. The reference's sum over the whole apodized, wrapped image is off by 0.5°
//     rms (up to 2.7°) on noise-free 128² cycles; this one by 0.05° rms.
//  3. SNR weights: f = √(U/(U·(H² + c·H(q−k)²) + 1)) makes the per-frequency weight of conj(a)·b
//     ∝ U·H·H(q−k)/(U·(H² + c·H(q−k)²) + 1): the optimum for that product, with U(|q|) the object's
//     SNR before the OTF (snr.ts). Where U·H² ≫ 1 it is the OTF ratio; where the noise dominates, a
//     matched filter. It hardly matters on the simulated cycles, but on MT.mrc (~10 photons per
//     pixel, the pattern where the OTF is 0.4%) it decides: at fixed k0 the phase noise (from
//     perturbing the frames) is 8.7°, 5.2°, 3.2° per orientation with it, 12.6°, 7.2°, 4.3° with
//     OTF ratios alone, and 9.2°, 6.1°, 4.0° for the reference's −arg(modamp).
// c = m²/4 balances the two bands' noise for modulation depth m; m = 1 is used: on simulated
// cycles m = 0.5 and 2 raise the rms phase error by 3% and 9%; MT.mrc's phases would favour m = 2
// by ~10%. Tried and left out: dividing each pixel's product by its Poisson variance (fitted from
// the noise beyond the OTF support) lowered the rms phase error on simulated 128² cycles by ~6% but
// raised it on MT.mrc by ~10%.
// The k0 that maximises the correlation's magnitude is the joint maximum-likelihood estimate with the
// phase (the phase is referred to the image centre, so an error δk in k0 moves it by 2π·δk·r̄, r̄ the
// signal's centroid): robust.ts polishes k0 on it before reading the phase.
import {
  cat,
  type Device,
  type DType,
  fft,
  keep,
  Scratch,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from '../../engine/index.js';
import { axisFrequencies, frequencySteps, gridKey, type ImageGrid, keptWhileSame, maxRadiusPerUm } from '../grid.js';
import { maskedOtfGrid, type OtfTable, otfAt } from '../otf.js';
import { type KCandidate, type OverlapSettings, perCandidate } from './candidates.js';
import { type BandNoise, bandNoise, type Correlation, noiseSums, phaseErrors } from './phase-noise.js';
import type { Modamp } from './search.js';
import { noiseOnlyFromPerUm, type ObjectSnr, objectSnr, snrAt, supportEdge } from './snr.js';

/** Width of the edge taper of the summed products, µm (≥ the filter kernels' reach, ~3 PSF widths). */
export const TAPER_UM = 0.5;
/** Band-noise balance c = m²/4 at m = 1 (see the header). */
const BALANCE = 0.25;

/** A batch of weighted correlations (crossProducts), with what phaseErrors needs. */
/** Everything that does not depend on k0, on the frames' device. Dispose when done. */
export class PhaseCorrelator {
  /** Bands of the unapodized frames, band 0's DC zeroed, as real views [D, 2, y, x, 2]. */
  readonly #bandsRe: Tensor;
  /** Edge taper of the products [y, x]. */
  readonly #taper: Tensor;
  /** Masked OTF at |q| (0 beyond the cutoff radius or at or below the threshold), FFT order, on the host. [y·x] */
  readonly #h0: Float64Array;
  /** |q| on the grid, FFT order, on the host (cycles/µm). [y·x] */
  readonly #radius: Float64Array;
  readonly #snr: ObjectSnr[];
  /** The bands' noise, for phaseErrors (null: no spectrum wholly beyond the OTF support). */
  readonly #noise: BandNoise | null;
  /** U(ρ) per orientation at ρ = i·#uStepPerUm (empty where there is no fit). */
  readonly #uTables: Float64Array[];
  readonly #uStepPerUm: number;
  readonly #table: OtfTable;
  readonly #grid: ImageGrid;
  readonly #settings: OverlapSettings;
  readonly #dtype: DType;
  readonly #device: Device;

  /**
   * bands [D, 2, y, x]: separateBands of the cycle's frames, unapodized (see the header), in the
   * fit's dtype; taken over (band 0's DC is zeroed in place), so the caller must not use it
   * afterwards. band0 [D, y, x]: the spectrum of the apodized 3-frame sums (the reference fit's band
   * 0), for the object's SNR (snr.ts).
   */
  constructor(
    bands: Tensor,
    band0: Tensor,
    table: OtfTable,
    grid: ImageGrid,
    settings: OverlapSettings,
    o: { dtype: DType; device: Device },
  ) {
    this.#grid = grid;
    this.#settings = settings;
    this.#dtype = o.dtype;
    this.#device = o.device;
    const opts = { dtype: o.dtype, device: o.device };
    this.#table = table;
    const taperPx = Math.max(
      1,
      Math.min(Math.ceil(TAPER_UM / grid.pixelSizeUm), Math.floor(Math.min(grid.height, grid.width) / 4)),
    );
    this.#snr = objectSnr(band0, grid, table, settings.otfThreshold);
    // Step dkr/16: U varies as ρ^γ (γ ≈ −1.3), so linear interpolation is within 0.2% of it
    // at ρ = dkr (where the clamp starts) and far closer beyond; the weights move less than that.
    this.#uStepPerUm = frequencySteps(grid).dkr / 16;
    const uLength = Math.ceil(maxRadiusPerUm(grid) / this.#uStepPerUm) + 2;
    this.#uTables = this.#snr.map((fit) => {
      const u = new Float64Array(fit === null ? 0 : uLength);
      for (let i = 0; i < u.length; i++) u[i] = snrAt(fit, i * this.#uStepPerUm);
      return u;
    });
    this.#radius = radiusTable(grid);
    [this.#bandsRe, this.#taper] = tidy(() => {
      const bandsRe = keep(bands.viewAsReal());
      // Band 0's zero frequency (FFT order: [0, 0]) to 0, in place.
      bandsRe.select(1, 0).narrow(1, 0, 1).narrow(2, 0, 1).zero_();
      return [bandsRe, keep(edgeTaper(grid, taperPx, opts))];
    });
    this.#noise = bandNoise(bands, this.#taper, grid, this.#radius, noiseOnlyFromPerUm(table, settings.otfThreshold));
    if (this.#noise) keep(this.#noise.map);
    this.#h0 = maskedOtfGrid(table, grid, {
      cutoffPerUm: settings.cutoffPerUm,
      otfThreshold: settings.otfThreshold,
      absolute: false,
    });
  }

  /**
   * For candidates k: cross = τ·conj(A)·B [b, y, x] (complex; τ the edge taper; before the phase
   * ramp: Σ cross·e^{iψ(k')} is the weighted correlation at k' near k) and den = Σ|A|² [b] (a
   * normalisation), with the parts phaseErrors needs. Created in the caller's scope.
   */
  crossProducts(cands: readonly KCandidate[]): Correlation {
    const { height: h, width: w } = this.#grid;
    if (cands.length > 1 && h * w > CHUNK_PIXELS) return this.#oneByOne(cands);
    return this.#batch(cands);
  }

  /**
   * crossProducts one candidate at a time on a large grid: the filtered bands and their products
   * (~10 planes per candidate) are held for one candidate, not all; the same numbers.
   */
  #oneByOne(cands: readonly KCandidate[]): Correlation {
    return tidy(() => {
      const { height: h, width: w } = this.#grid;
      const cross = zeros([cands.length, h, w], {
        dtype: this.#dtype === 'float64' ? 'complex128' : 'complex64',
        device: this.#device,
      });
      const dens: Tensor[] = [];
      const sums: Tensor[] = [];
      const spreads = new Float64Array(cands.length * 2);
      const energies = new Float64Array(cands.length * 2);
      cands.forEach((c, i) => {
        const one = this.#batch([c]);
        cross.narrow(0, i, 1).copy_(one.cross);
        one.cross.dispose();
        dens.push(one.den);
        if (one.parts.mapSums) sums.push(one.parts.mapSums);
        spreads.set(one.parts.spreads, 2 * i);
        energies.set(one.parts.energies, 2 * i);
      });
      const mapSums = sums.length === cands.length ? cat(sums) : null;
      return { cross, den: cat(dens), parts: { spreads, energies, mapSums } };
    });
  }

  #batch(cands: readonly KCandidate[]): Correlation {
    return tidy(() => {
      const b = cands.length;
      const { height: h, width: w } = this.#grid;
      const opts = { dtype: this.#dtype, device: this.#device };
      const { planes, spreads, energies } = this.#weights(cands);
      // Nested scopes free each step's inputs as soon as it is done (a 2048² candidate's planes are 32–64 MB each).
      const filtered = tidy(() => {
        const weights = tensor(planes, [b, 2, h, w], opts);
        const spectra = perCandidate(this.#bandsRe, cands).mul(weights.unsqueeze(-1)).viewAsComplex();
        // One call for both bands: the engine splits a batch of transforms over its threads (b·2 share better than b).
        return fft.ifft2(spectra);
      });
      const cross = tidy(() => {
        const a = filtered.select(1, 0);
        const bb = filtered.select(1, 1);
        return a.conj().mul(bb).viewAsReal().mul(this.#taper.unsqueeze(-1)).viewAsComplex();
      });
      // Σ|a|² by Parseval: the correlation's scale only (its phase and peak do not depend on it).
      const den = tensor(
        Float64Array.from(cands, (_, i) => (energies[2 * i] as number) / (h * w)),
        [b],
        opts,
      );
      const noise = this.#noise;
      const mapSums = noise ? tidy(() => noiseSums(noise, filtered, cands)) : null;
      return { cross, den, parts: { spreads, energies, mapSums } };
    });
  }

  /**
   * Standard error of each phase −arg(values[i]), values[i] = Σ cross·e^{iψ}/den read from the
   * correlations c built for cands[i], rad (phase-noise.ts); null without a noise estimate.
   */
  phaseErrors(c: Correlation, cands: readonly KCandidate[], values: readonly Modamp[]): (number | null)[] {
    return phaseErrors(this.#noise, c, cands, values, this.#grid);
  }

  /**
   * W0 = H(q − k)·f and W1 = H(q' + k)·f [b, 2, y, x] (FFT order), f² = U/(U·(h² + c·partner²) + 1)
   * with U the object's SNR at the pair's object frequency (band 0 at q pairs with band 1 at
   * q' = q − k, so f is a function of q, i.e. of q' + k on band 1's grid), H masked by the
   * reference's trust limits (0 beyond the cutoff radius or at or below the threshold), and the OTF
   * ratio 1/(h² + c·partner²) where no SNR fit exists. Computed in one loop over the disc where
   * H(q ∓ k) can be non-zero (radius: the OTF support) instead of a few dozen full-grid passes.
   */
  #weights(cands: readonly KCandidate[]): {
    planes: Float32Array | Float64Array;
    spreads: Float64Array;
    energies: Float64Array;
  } {
    const { height: H, width: W } = this.#grid;
    const { dkx, dky } = frequencySteps(this.#grid);
    const { cutoffPerUm, otfThreshold } = this.#settings;
    const table = this.#table;
    const h0 = this.#h0;
    const out = (this.#dtype === 'float64' ? WEIGHTS64 : WEIGHTS32).view(cands.length * 2 * H * W);
    out.fill(0);
    // Σ|W·band|² per plane (H·W times Σ_r |a|², Σ_r |b|²: Parseval), and for phase-noise.ts
    // Σ (W0(q)·W1(q − k))²·|band0(q)|² and Σ (W1(q')·W0(q' + k))²·|B1(q')|²: the partner's weight
    // at the shifted frequency is partner·√f² with the same f².
    const energies = new Float64Array(cands.length * 2);
    const spreads = new Float64Array(cands.length * 2);
    // A large grid's correlations are built one candidate at a time: only its orientation's bands
    // are read to the host (a 2048² cycle's all would be 200 MB).
    const single = cands.length === 1 && H * W > CHUNK_PIXELS ? (cands[0] as KCandidate).orientation : null;
    const bandsHost = this.#hostBands(single);
    const noise = this.#noise !== null;
    const radius = this.#radius;
    const support = Math.min(cutoffPerUm, supportEdge(table, otfThreshold) + table.stepPerUm);
    const uStep = this.#uStepPerUm;
    // Plain loops, no closures made per call: V8 drops the optimised code of per-call closures at
    // some collections, and re-optimising them slowed some fits by tens of ms.
    const perUStep = 1 / uStep;
    for (let i = 0; i < cands.length; i++) {
      const c = cands[i] as KCandidate;
      const fit = this.#snr[c.orientation] ?? null;
      const uTable = this.#uTables[c.orientation] as Float64Array;
      const uLast = uTable.length - 1;
      for (let s = 0; s < 2; s++) {
        // Band 0 pairs with H(q − k) (disc around +k), band 1 with H(q' + k) (disc around −k).
        const cx = s === 0 ? c.kx : -c.kx;
        const cy = s === 0 ? c.ky : -c.ky;
        // The noise balance: h² + c·partner² with h = H(|q|) on band 0 (the partner) and H(|q' + k|) on band 1 (the shifted one).
        const partnerScale = s === 0 ? 1 : BALANCE;
        const shiftedScale = s === 0 ? BALANCE : 1;
        const plane = (i * 2 + s) * H * W;
        const y0 = Math.max(Math.ceil((cy - support) / dky), -Math.floor(H / 2));
        const y1 = Math.min(Math.floor((cy + support) / dky), Math.ceil(H / 2) - 1);
        const x0 = Math.max(Math.ceil((cx - support) / dkx), -Math.floor(W / 2));
        const x1 = Math.min(Math.floor((cx + support) / dkx), Math.ceil(W / 2) - 1);
        let spread = 0;
        let energy = 0;
        const bandAt = 2 * ((single === null ? c.orientation * 2 : 0) + s) * H * W;
        for (let uy = y0; uy <= y1; uy++) {
          const dy = uy * dky - cy;
          const rowH0 = (uy < 0 ? uy + H : uy) * W;
          // Only the disc's chord on this row (one bin of slack each side; the tests below stay exact).
          const half = Math.sqrt(Math.max(0, support * support - dy * dy));
          const from = Math.max(x0, Math.floor((cx - half) / dkx) - 1);
          const to = Math.min(x1, Math.ceil((cx + half) / dkx) + 1);
          for (let ux = from; ux <= to; ux++) {
            const dx = ux * dkx - cx;
            // H(|q ∓ k|), masked by the reference's trust limits.
            const r = Math.sqrt(dx * dx + dy * dy);
            if (!(r <= cutoffPerUm)) continue;
            const shifted = otfAt(table, r);
            if (!(shifted > otfThreshold)) continue;
            const x = rowH0 + (ux < 0 ? ux + W : ux);
            const partner = h0[x] as number;
            const sum = partnerScale * partner * partner + shiftedScale * shifted * shifted;
            let f2: number;
            if (fit === null) {
              f2 = 1 / (sum + 1e-12);
            } else {
              // U by linear interpolation in its radial table (pow per point cost more than the rest together),
              // at |q| for band 0 (a table) and |q' + k| = r for band 1.
              const t = Math.min((s === 0 ? (radius[x] as number) : r) * perUStep, uLast);
              const j = Math.min(Math.floor(t), uLast - 1);
              const u = (uTable[j] as number) + ((uTable[j + 1] as number) - (uTable[j] as number)) * (t - j);
              f2 = u / (u * sum + 1);
            }
            out[plane + x] = shifted * Math.sqrt(f2);
            const re = bandsHost[bandAt + 2 * x] as number;
            const im = bandsHost[bandAt + 2 * x + 1] as number;
            const power = re * re + im * im;
            energy += shifted * shifted * f2 * power;
            if (noise) {
              const z = partner * shifted * f2;
              spread += z * z * power;
            }
          }
        }
        spreads[i * 2 + s] = spread;
        energies[i * 2 + s] = energy;
      }
    }
    return { planes: out, spreads, energies };
  }

  /**
   * The bands [D, 2, y, x, re/im] on the host, for the weights loop's sums (den, and phase-noise.ts's
   * spreads), in a buffer shared between correlators: read again whenever another one has used it.
   */
  #hostBands(orientation: number | null): Float32Array | Float64Array {
    const scratch = this.#dtype === 'float64' ? BANDS64 : BANDS32;
    const key = orientation === null ? -1 : orientation;
    if (orientation === null) {
      const buffer = scratch.view(this.#bandsRe.size);
      if (hostBandsOwner?.correlator !== this || hostBandsOwner.orientation !== key) {
        tidy(() => this.#bandsRe.readInto(buffer));
        hostBandsOwner = { correlator: this, orientation: key };
      }
      return buffer;
    }
    const buffer = scratch.view(this.#bandsRe.size / this.#bandsRe.dim(0));
    if (hostBandsOwner?.correlator !== this || hostBandsOwner.orientation !== key) {
      tidy(() => this.#bandsRe.select(0, orientation).readInto(buffer));
      hostBandsOwner = { correlator: this, orientation: key };
    }
    return buffer;
  }

  dispose(): void {
    if (hostBandsOwner?.correlator === this) hostBandsOwner = null;
    for (const t of [this.#bandsRe, this.#taper, this.#noise?.map]) t?.dispose();
    // A large grid's buffers are let go (2048²: ~100 MB); a 256² fit's (1.5 MB, 393k elements) are kept.
    for (const b of [WEIGHTS32, WEIGHTS64, BANDS32, BANDS64]) b.trim();
  }
}

/**
 * The weight planes' buffers, shared (each call's planes are copied into a tensor before it
 * returns): 1.5 MB per call at 256² would otherwise go to the garbage collector.
 */
/** Grids above this many pixels build their correlations one candidate at a time (crossProducts). */
const CHUNK_PIXELS = 512 * 512;
const WEIGHTS32 = new Scratch(Float32Array);
const WEIGHTS64 = new Scratch(Float64Array);
const BANDS32 = new Scratch(Float32Array);
const BANDS64 = new Scratch(Float64Array);
/** The correlator whose bands the BANDS buffers hold: all of them (orientation −1) or one orientation's. */
let hostBandsOwner: { correlator: PhaseCorrelator; orientation: number } | null = null;

const RADIUS = keptWhileSame<Float64Array>();

/** |q| in FFT order, cycles/µm, computed as the weights loop would: √(qx² + qy²); the last grid's is kept (shared, read-only). */
function radiusTable(g: ImageGrid): Float64Array {
  return RADIUS(gridKey(g), () => radii(g));
}

function radii(g: ImageGrid): Float64Array {
  const { dkx, dky } = frequencySteps(g);
  const qy = axisFrequencies(g.height, dky, 'fft');
  const qx = axisFrequencies(g.width, dkx, 'fft');
  const out = new Float64Array(g.height * g.width);
  for (let y = 0; y < g.height; y++) {
    const qyy = (qy[y] as number) * (qy[y] as number);
    for (let x = 0; x < g.width; x++) out[y * g.width + x] = Math.sqrt((qx[x] as number) * (qx[x] as number) + qyy);
  }
  return out;
}

/** Raised-cosine ramp over n px at every edge, 1 inside [y, x]. */
function edgeTaper(g: ImageGrid, n: number, opts: { dtype: DType; device: Device }): Tensor {
  const axis = (len: number) => {
    const v = new Float64Array(len).fill(1);
    for (let i = 0; i < n; i++) {
      const t = 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / n);
      v[i] = t;
      v[len - 1 - i] = Math.min(v[len - 1 - i] as number, t);
    }
    return v;
  };
  return tidy(() => tensor(axis(g.height), [g.height, 1], opts).mul(tensor(axis(g.width), [1, g.width], opts)));
}
