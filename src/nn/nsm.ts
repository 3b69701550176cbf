// The noise suppression module (NSM) of rDL: a learnable radial low-pass filter in Fourier space.
import { fft, full, keep, meshgrid, type Tensor, tensor, tidy } from '../engine/index.js';
import { ParameterError } from '../errors.js';
import { Module } from './module.js';

export interface NsmConfig {
  /** Initial cutoff frequency (cycles/µm); reference: 4.95 in 2-D, 4.1 in 3-D. */
  cutoff: number;
  /** Initial slope of the sigmoid edge (per cycles/µm); reference: 100. */
  slope: number;
  /** Lateral pixel size (µm) that converts pixel frequencies to cycles/µm; reference: 0.0626 (2-D), 0.0926 (3-D). */
  pixelSizeUm: number;
}

/**
 * Filters every (y, x) plane of x (B, C, Y, X) or (B, C, Z, Y, X) with
 * mask(k) = sigmoid((cutoff − |k|) · slope), |k| the lateral spatial frequency in cycles/µm.
 * cutoff and slope are trainable.
 *
 * The reference builds the mask on a centred frequency grid and multiplies it with a centred
 * spectrum; for even sizes this is the same as the mask on the unshifted (fftfreq) grid used
 * here. Its 3-D variant also calls tf.signal.fftshift without axes, which rolls batch, z and
 * channels too — twice, so nothing moves for even sizes but odd ones get permuted; that is an
 * accident, and here each plane is filtered on its own, as meant.
 */
export class NoiseSuppression extends Module {
  readonly cutoff: Tensor;
  readonly slope: Tensor;
  pixelSizeUm: number;
  #radius: { key: string; value: Tensor } | null = null;

  constructor(c: NsmConfig) {
    super();
    if (!(c.pixelSizeUm > 0)) throw new ParameterError('NSM pixelSizeUm', 'a pixel size > 0 (µm)', c.pixelSizeUm);
    if (!Number.isFinite(c.cutoff)) throw new ParameterError('NSM cutoff', 'a finite frequency (cycles/µm)', c.cutoff);
    if (!Number.isFinite(c.slope)) throw new ParameterError('NSM slope', 'a finite number', c.slope);
    this.cutoff = this.param('cutoff', full([1], c.cutoff));
    this.slope = this.param('slope', full([1], c.slope));
    this.pixelSizeUm = c.pixelSizeUm;
  }

  /** |k| (cycles/µm) on the rfft2 grid of an ny × nx plane (cached: it is the same every step). */
  radius(ny: number, nx: number, device: string): Tensor {
    const key = `${ny}x${nx}@${device}:${this.pixelSizeUm}`;
    if (this.#radius?.key !== key) {
      this.#radius?.value.dispose();
      const ky = fftFreq(ny, this.pixelSizeUm);
      const kx = fftFreq(nx, this.pixelSizeUm).slice(0, (nx >> 1) + 1);
      // Kept: the cache outlives the forward pass's scope.
      const value = keep(
        tidy(() => {
          const [gy, gx] = meshgrid(tensor(ky, [ny], { device }), tensor(kx, [kx.length], { device })) as [
            Tensor,
            Tensor,
          ];
          return gy.square().add(gx.square()).sqrt();
        }),
      );
      this.#radius = { key, value };
    }
    return this.#radius.value;
  }

  /** The transfer function on the rfft2 grid, (ny, nx/2 + 1), differentiable in cutoff and slope. */
  mask(ny: number, nx: number, device: string): Tensor {
    return tidy(() =>
      this.cutoff
        .sub(this.radius(ny, nx, device))
        .mul(this.slope)
        .sigmoid(),
    );
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const ny = x.dim(-2);
      const nx = x.dim(-1);
      // The mask is real and even in k, so a real input stays real: the half spectrum (rfft2)
      // carries everything at half the cost, and the reference's real part is irfft2's output.
      const spectrum = fft.rfft2(x).mul(this.mask(ny, nx, x.device));
      return fft.irfft2(spectrum, { s: [ny, nx] });
    });
  }

  override dispose(): void {
    this.#radius?.value.dispose();
    this.#radius = null;
    super.dispose();
  }
}

/** numpy.fft.fftfreq(n, d): frequencies (cycles per unit of d) in FFT order. */
function fftFreq(n: number, d: number): number[] {
  return Array.from({ length: n }, (_, i) => (i < Math.ceil(n / 2) ? i : i - n) / (n * d));
}
