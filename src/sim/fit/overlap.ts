// modamp of a candidate pattern vector (reference: makeoverlaps + getmodamp with recalcarrays):
//   w0(q) = OTF(|q−k|)/√(OTF(|q|)² + OTF(|q−k|)²), w1(q) = OTF(|q+k|)/√(OTF(|q+k|)² + OTF(|q|)²),
//   each zero unless both radii are ≤ R and both |OTF| values exceed the threshold;
//   overlap0 = IFFT(band0·w0), overlap1 = IFFT(B1·w1);
//   modamp = Σ conj(overlap0)·overlap1·e^{iψ} / (Σ|overlap0|² + Σ|overlap1|²),
//   ψ = 2π[(x − W/2)·dx·kx + (y − H/2)·dx·ky] (origin at pixel (H/2, W/2)).
// For ideal data modamp = (m/2)·e^{−iφ0}/(1 + m²/4). Differences from the reference's arithmetic
// (same numbers up to rounding): weights are built in FFT order, so no shifts; the denominator
// uses Parseval (Σ_r|IFFT(X)|² = Σ_q|X|²/(H·W)) instead of real-space sums; the ramp e^{iψ} is
// separable, so the sum over x is taken before multiplying by the y factor; candidates of several
// orientations go through one batched call.
import { type Device, type DType, fft, keep, type Tensor, tensor, tidy } from '../../engine/index.js';
import type { ImageGrid } from '../grid.js';
import type { OtfTable } from '../otf.js';
import { type KCandidate, type OverlapSettings, perCandidate } from './candidates.js';
import { SpectralModamp } from './overlap-spectral.js';
import { modampAt } from './peakmap.js';
import type { Modamp, PendingModamp } from './search.js';

/** Everything that does not change between candidates, on the bands' device. Dispose when done. */
export class ModampEvaluator {
  /** The bands as [D, 2, y, x, 2] reals: a view of the caller's tensor, which stays alive while this holds it. */
  readonly #bandsRe: Tensor;
  readonly #spectral: SpectralModamp;
  readonly #grid: ImageGrid;
  readonly #dtype: DType;
  readonly #device: Device;

  /** bands: [D, 2, y, x] complex in FFT order (separateBands); the caller may dispose its handle. */
  constructor(bands: Tensor, table: OtfTable, grid: ImageGrid, settings: OverlapSettings) {
    this.#grid = grid;
    this.#dtype = bands.dtype === 'complex128' ? 'float64' : 'float32';
    this.#device = bands.device;
    this.#bandsRe = keep(bands.viewAsReal());
    this.#spectral = new SpectralModamp(bands, table, grid, settings);
  }

  /**
   * Complex modamp of each candidate: in the frequency domain (overlap-spectral.ts) when that is
   * cheaper, which it is up to 2048² or more, else through the two inverse FFTs; the same number.
   */
  evaluate(cands: readonly KCandidate[], via: 'auto' | 'spectral' | 'transforms' = 'auto'): Modamp[] {
    if (cands.length === 0) return [];
    if (via === 'spectral' || (via === 'auto' && this.#spectral.isCheaper(cands)))
      return this.#spectral.evaluate(cands);
    return tidy(() => {
      const { cross, den } = this.crossProducts(cands);
      return modampAt(cross, den, cands, this.#grid);
    });
  }

  /**
   * One candidate, started: on the frequency-domain path its matrix products run in the background
   * while the caller prepares others (search.ts runs the orientations' walks this way); on the
   * transforms path it is computed here.
   */
  start(c: KCandidate): PendingModamp {
    const pending = this.#spectral.start(c);
    if (pending) return pending;
    const [m] = this.evaluate([c], 'transforms') as [Modamp];
    return { wait: () => m };
  }

  /**
   * The parts of modamp before the phase ramp, for candidates k: cross = conj(overlap0)·overlap1
   * [b, y, x] complex and den = Σ|overlap0|² + Σ|overlap1|² [b]. With them, modamp at a nearby k'
   * (weights kept at k) is Σ cross·e^{iψ(k')}/den: one DFT instead of two inverse FFTs (the robust
   * fit's coarse map is made that way). The weights come from the host (SpectralModamp.weightPlanes).
   * Created in the caller's scope.
   */
  crossProducts(cands: readonly KCandidate[]): { cross: Tensor; den: Tensor } {
    const b = cands.length;
    const { height: h, width: w } = this.#grid;
    const opts = { dtype: this.#dtype, device: this.#device };
    const weights = this.#spectral.weightPlanes(cands);
    return tidy(() => {
      const bandsRe = perCandidate(this.#bandsRe, cands);
      // complex × real through the real view: libtorch would otherwise promote the weights to complex.
      const spectraRe = bandsRe.mul(tensor(weights, [b, 2, h, w, 1], opts));
      const overlaps = fft.ifft2(spectraRe.viewAsComplex());
      const cross = overlaps.select(1, 0).conj().mul(overlaps.select(1, 1)); // [b, y, x]
      const den = spectraRe
        .square()
        .sum([1, 2, 3, 4])
        .div(h * w); // Parseval
      return { cross, den };
    });
  }

  dispose(): void {
    this.#bandsRe.dispose();
    this.#spectral.dispose();
  }
}
