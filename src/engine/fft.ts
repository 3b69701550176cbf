// Discrete Fourier transforms (numpy/PyTorch conventions: unnormalized forward, 1/n inverse
// unless norm says otherwise; zero frequency first; fftshift moves it to the centre).
import type { Ints } from './native.js';
import { native } from './native.js';
import { Tensor } from './tensor.js';

export type FftNorm = 'backward' | 'forward' | 'ortho';
export interface FftOptions {
  /** Output signal sizes (pad or crop) for the transformed dims. */
  s?: Ints;
  /** Transformed dims: the last two for the 2-D transforms, all for the n-D ones by default. */
  dims?: Ints;
  norm?: FftNorm;
}

const call = (kind: string, t: Tensor, o: FftOptions = {}) =>
  new Tensor(native().fft(kind, t.handle, o.s ?? null, o.dims ?? null, o.norm ?? null));

export const fft2 = (t: Tensor, o?: FftOptions) => call('fft2', t, o);
export const ifft2 = (t: Tensor, o?: FftOptions) => call('ifft2', t, o);
export const rfft2 = (t: Tensor, o?: FftOptions) => call('rfft2', t, o);
/** Inverse of rfft2; pass s to recover odd sizes. */
export const irfft2 = (t: Tensor, o?: FftOptions) => call('irfft2', t, o);
export const fftn = (t: Tensor, o?: FftOptions) => call('fftn', t, o);
export const ifftn = (t: Tensor, o?: FftOptions) => call('ifftn', t, o);
export const rfftn = (t: Tensor, o?: FftOptions) => call('rfftn', t, o);
export const irfftn = (t: Tensor, o?: FftOptions) => call('irfftn', t, o);

/** Moves the zero frequency to the centre of the given dims (all dims by default). */
export function fftshift(t: Tensor, dims?: Ints): Tensor {
  return new Tensor(native().fftshift(t.handle, dims ?? null));
}
export function ifftshift(t: Tensor, dims?: Ints): Tensor {
  return new Tensor(native().ifftshift(t.handle, dims ?? null));
}
