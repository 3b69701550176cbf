// Channel attention (RCAN) and Fourier channel attention (DFCAN).
import { cat, F, fft, type Tensor, tensor, tidy } from '../engine/index.js';
import { ParameterError } from '../errors.js';
import { Conv } from './conv.js';
import type { SeedSequence } from './init.js';
import { Module } from './module.js';

function reduced(channels: number, reduction: number): number {
  const r = Math.floor(channels / reduction);
  if (!(r >= 1))
    throw new ParameterError('channel attention reduction', `at most the channel count ${channels}`, reduction);
  return r;
}

/** Spatial dims of a (B, C, …) tensor: [2, 3] for images, [2, 3, 4] for volumes. */
function spatialDims(x: Tensor): number[] {
  return Array.from({ length: x.rank - 2 }, (_, i) => i + 2);
}

/**
 * Squeeze-and-excitation over channels: the global mean of each channel → 1×1 conv to C/r +
 * ReLU → 1×1 conv to C + sigmoid → scales x. The reference pools with a window of the training
 * patch size (AveragePooling2D) in 2-D; the global mean is the same at that size and works at
 * any other size.
 */
export class ChannelAttention extends Module {
  readonly down: Conv;
  readonly up: Conv;
  constructor(dims: 2 | 3, channels: number, reduction: number, seeds: SeedSequence) {
    super();
    this.down = this.child('down', new Conv(dims, channels, reduced(channels, reduction), 1, seeds));
    this.up = this.child('up', new Conv(dims, reduced(channels, reduction), channels, 1, seeds));
  }

  /** The per-channel weights (B, C, 1, 1[, 1]) of a descriptor (B, C, 1, 1[, 1]). */
  protected excite(descriptor: Tensor): Tensor {
    return this.up.forward(this.down.forward(descriptor).relu()).sigmoid();
  }

  forward(x: Tensor): Tensor {
    return tidy(() => x.mul(this.excite(x.mean(spatialDims(x), true))));
  }
}

/**
 * Raised-sine edge taper of the reference's FFT input (apodize2d): the first and last n rows are
 * pulled towards the mean of each mirrored pair, weight 1 − sin((l + ½)/n · π/2) at distance l
 * from the edge, then the same along columns. It removes the edge jump that would otherwise put
 * a cross into the spectrum.
 */
export function apodize(x: Tensor, n: number): Tensor {
  return tidy(() => {
    let out = x;
    for (const dim of [x.rank - 2, x.rank - 1]) {
      const len = out.dim(dim);
      if (len < 2 * n) throw new ParameterError('apodization', `an image of at least ${2 * n} pixels per side`, len);
      const w = Array.from({ length: n }, (_, l) => 1 - Math.sin(((l + 0.5) / n) * (Math.PI / 2)));
      const shape = new Array<number>(x.rank).fill(1);
      shape[dim] = n;
      const fact = tensor(w, shape, { device: x.device });
      const first = out.narrow(dim, 0, n);
      const last = out.narrow(dim, len - n, n);
      const factor = last.flip(dim).sub(first).mul(0.5).mul(fact);
      out = cat([first.add(factor), out.narrow(dim, n, len - 2 * n), last.sub(factor.flip(dim))], dim);
    }
    return out;
  });
}

export interface FourierAttentionOptions {
  reduction: number;
  /** Side (pixels) the shifted spectrum is resized to before its convolution (reference: 128). */
  spectrumSize: number;
  /** Apodization width (pixels) before the FFT (reference: 10). */
  apodize: number;
}

/**
 * DFCAN's Fourier channel attention: the channel weights come from the amplitude spectrum,
 * (|FFT2(apodize(x))| + 1e-8)^0.1 (the power compresses its dynamic range), centred, resized
 * bilinearly to spectrumSize², then conv 3×3 + ReLU and global mean, then the excitation of
 * ChannelAttention.
 */
export class FourierChannelAttention extends ChannelAttention {
  readonly spectrumConv: Conv;
  constructor(
    channels: number,
    readonly o: FourierAttentionOptions,
    seeds: SeedSequence,
  ) {
    // The reference creates the spectrum convolution before the two 1×1 convolutions; creation
    // order matters for Keras weight import, registration order does not.
    const spectrumConv = new Conv(2, channels, channels, 3, seeds);
    super(2, channels, o.reduction, seeds);
    this.spectrumConv = this.child('spectrumConv', spectrumConv);
  }

  override forward(x: Tensor): Tensor {
    return tidy(() => {
      const amplitude = fft.fft2(apodize(x, this.o.apodize)).abs().add(1e-8).pow(0.1);
      // The reference's fftshift is a concatenation of quadrants that starts at row ⌊h/2⌋: numpy's
      // fftshift for even sizes, its ifftshift for odd ones. ifftshift reproduces it for both.
      let spectrum = fft.ifftshift(amplitude, [-2, -1]);
      const s = this.o.spectrumSize;
      if (spectrum.dim(-2) !== s || spectrum.dim(-1) !== s) spectrum = F.interpolate(spectrum, [s, s], 'bilinear');
      const descriptor = this.spectrumConv.forward(spectrum).relu().mean([2, 3], true);
      return x.mul(this.excite(descriptor));
    });
  }
}
