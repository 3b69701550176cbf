// Band separation per orientation (reference: make_matrix and the band step of cal_modamp).
// For frames D_j = [S·(1 + m cos(2πk·r + φ0 + jφ))] ⊛ PSF, φ = 2π/phases:
//   band0 = Σ_j F_j = phases·S̃(q)·OTF(q)
//   B1    = Σ_j e^{ijφ} F_j = phases·(m/2)·e^{−iφ0}·S̃(q + k)·OTF(q)   (object spectrum centred at −k)
// where F_j is the 2D FFT of frame j. B1 = b1re + i·b1im with the reference's cos/sin rows.
import { fft, type Tensor, tensor, tidy, zeros } from '../../engine/index.js';

/**
 * Spectra of the (apodized) frames [D, P, y, x] (real) → bands [D, 2, y, x] complex:
 * index 0 = band0, 1 = B1, in FFT order (zero frequency at [0, 0]).
 * The FFT is linear, so the phases are combined before it: band0 = FFT(Σ_j D_j) and
 * B1 = FFT(Σ_j e^{ijφ}·D_j), two transforms per orientation instead of one per frame (same
 * numbers up to rounding, ~40% less time for 3 phases). One batched matrix product with [P, 4]
 * coefficients makes, per pixel, the four values (Σ D_j, 0, Σ cos·D_j, Σ sin·D_j), i.e. the two
 * complex inputs s0 + 0i and sc + i·ss side by side; one complex transform of both, read through a
 * strided view, writes the bands in their final layout. band0's transform is complex though its
 * input is real (twice an rfft2), but that saved more than it cost: the half spectrum's
 * completion, the interleaving of B1's input and the stacking of the two bands (~0.8 ms of copies
 * at 3 × 256², against ~0.5 ms more transform).
 */
export function separateBands(frames: Tensor): Tensor {
  return tidy(() => {
    const [d, , h, w] = frames.shape as [number, number, number, number];
    return fft.fft2(bandInputs(frames).permute([0, 2, 1]).reshape([d, 2, h, w]));
  });
}

/**
 * separateBands, and the modulated power Σ_d |Σ_j e^{ijφ}·D_j|² per pixel [y, x] (real): where the
 * pattern's modulation is strong (the band-1 signal before its transform; a constant offset
 * cancels in it). The large-grid fit picks its working crop there (working.ts). One orientation
 * at a time: a 2048² cycle's combinations and their copies for the transform are 200 MB each for
 * all three.
 */
export function separateBandsWithPower(frames: Tensor): { bands: Tensor; power: Tensor } {
  return tidy(() => {
    const [d, , h, w] = frames.shape as [number, number, number, number];
    const complexType = frames.dtype === 'float64' ? 'complex128' : 'complex64';
    const bands = zeros([d, 2, h, w], { dtype: complexType, device: frames.device });
    const power = zeros([h * w], { dtype: frames.dtype === 'float64' ? 'float64' : 'float32', device: frames.device });
    for (let o = 0; o < d; o++) {
      tidy(() => {
        const inputs = bandInputs(frames.narrow(0, o, 1)); // [1, h·w, 2]
        power.add_(inputs.select(2, 1).viewAsReal().square().sum([0, 2]));
        bands.narrow(0, o, 1).copy_(fft.fft2(inputs.permute([0, 2, 1]).reshape([1, 2, h, w])));
      });
    }
    return { bands, power: power.reshape([h, w]) };
  });
}

/** The per-pixel phase combinations [d, h·w, 2] complex: s0 + 0i and sc + i·ss (see separateBands). Created in the caller's scope. */
function bandInputs(frames: Tensor): Tensor {
  const [d, phases, h, w] = frames.shape as [number, number, number, number];
  const coefficients = new Float64Array(phases * 4);
  for (let j = 0; j < phases; j++) {
    coefficients.set([1, 0, Math.cos((j * 2 * Math.PI) / phases), Math.sin((j * 2 * Math.PI) / phases)], j * 4);
  }
  const real = frames.dtype === 'float64' ? 'float64' : 'float32';
  // Batched ([d, h·w, P]·[d, P, 4]), not broadcast: libtorch folds a 2D × 3D product through
  // transposed copies, ~10× slower here.
  return frames
    .reshape([d, phases, h * w])
    .transpose(1, 2)
    .matmul(tensor(coefficients, [1, phases, 4], { dtype: real, device: frames.device }).expand([d, phases, 4]))
    .reshape([d, h * w, 2, 2])
    .viewAsComplex(); // [d, h·w, 2]: s0 + 0i, sc + i·ss
}
