// Band separation per orientation (reference: make_matrix and the band step of cal_modamp).
// For frames D_j = [S·(1 + m cos(2πk·r + φ0 + jφ))] ⊛ PSF, φ = 2π/phases:
//   band0 = Σ_j F_j = phases·S̃(q)·OTF(q)
//   B1    = Σ_j e^{ijφ} F_j = phases·(m/2)·e^{−iφ0}·S̃(q + k)·OTF(q)   (object spectrum centred at −k)
// where F_j is the 2D FFT of frame j. B1 = b1re + i·b1im with the reference's cos/sin rows.
import { complex, fft, stack, type Tensor, tensor, tidy } from '../engine/index.js';

/**
 * Spectra of the (apodized) frames [D, P, y, x] (real) → bands [D, 2, y, x] complex:
 * index 0 = band0, 1 = B1, in FFT order (zero frequency at [0, 0]).
 * The FFT is linear, so the phases are combined before it: band0 = FFT(Σ_j D_j) and
 * B1 = FFT(Σ_j e^{ijφ}·D_j), two transforms per orientation instead of one per frame (same
 * numbers up to rounding, ~40% less time for 3 phases).
 */
export function separateBands(frames: Tensor): Tensor {
  return tidy(() => {
    const phases = frames.dim(1);
    const cos = new Float64Array(phases);
    const sin = new Float64Array(phases);
    for (let j = 0; j < phases; j++) {
      cos[j] = Math.cos((j * 2 * Math.PI) / phases);
      sin[j] = Math.sin((j * 2 * Math.PI) / phases);
    }
    const real = frames.dtype === 'float64' ? 'float64' : 'float32';
    const opts = { dtype: real, device: frames.device } as const;
    const weighted = (w: Float64Array) => frames.mul(tensor(w, [1, phases, 1, 1], opts)).sum(1);
    const band0 = fft.fft2(frames.sum(1));
    const band1 = fft.fft2(complex(weighted(cos), weighted(sin)));
    return stack([band0, band1], 1);
  });
}
