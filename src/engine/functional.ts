// Neural-network and signal functions (torch.nn.functional's counterparts). Layouts are
// PyTorch's: images (batch, channels, y, x), volumes (batch, channels, z, y, x), weights
// (out, in/groups, kernel…).
import type { Ints } from './native.js';
import { native } from './native.js';
import { Tensor } from './tensor.js';

const N = native;

export interface ConvOptions {
  stride?: number | Ints;
  /** Zero padding per side, or 'same' / 'valid' (default 0). */
  padding?: number | Ints | 'same' | 'valid';
  dilation?: number | Ints;
  groups?: number;
}

function perDim(v: number | Ints | undefined, n: number, fallback: number): Ints {
  if (v === undefined) return new Array<number>(n).fill(fallback);
  return typeof v === 'number' ? new Array<number>(n).fill(v) : v;
}

function conv(x: Tensor, w: Tensor, b: Tensor | null, o: ConvOptions, n: number): Tensor {
  const padding = o.padding === 'same' || o.padding === 'valid' ? o.padding : perDim(o.padding, n, 0);
  return new Tensor(
    N().conv(
      x.handle,
      w.handle,
      b?.handle ?? null,
      perDim(o.stride, n, 1),
      padding,
      perDim(o.dilation, n, 1),
      o.groups ?? 1,
    ),
  );
}

export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: ConvOptions = {}): Tensor {
  return conv(x, weight, bias, opts, 2);
}
export function conv3d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: ConvOptions = {}): Tensor {
  return conv(x, weight, bias, opts, 3);
}

export interface PoolOptions {
  stride?: number | Ints;
  padding?: number | Ints;
}
function pool(kind: 'avg' | 'max', x: Tensor, kernel: number | Ints, o: PoolOptions, n: number): Tensor {
  const k = perDim(kernel, n, 1);
  return new Tensor(
    N().pool(kind, x.handle, k, o.stride === undefined ? k : perDim(o.stride, n, 1), perDim(o.padding, n, 0)),
  );
}
export const avgPool2d = (x: Tensor, kernel: number | Ints, o: PoolOptions = {}) => pool('avg', x, kernel, o, 2);
export const avgPool3d = (x: Tensor, kernel: number | Ints, o: PoolOptions = {}) => pool('avg', x, kernel, o, 3);
export const maxPool2d = (x: Tensor, kernel: number | Ints, o: PoolOptions = {}) => pool('max', x, kernel, o, 2);
export const maxPool3d = (x: Tensor, kernel: number | Ints, o: PoolOptions = {}) => pool('max', x, kernel, o, 3);

/** Adaptive average pooling to an output size of 2 (y, x) or 3 (z, y, x) elements. */
export function adaptiveAvgPool(x: Tensor, outputSize: Ints): Tensor {
  return new Tensor(N().adaptiveAvgPool(x.handle, outputSize));
}

export type InterpolateMode = 'nearest' | 'linear' | 'bilinear' | 'bicubic' | 'trilinear';
/** Resizes the spatial dims to size, align_corners false (half-pixel centres), no antialias. */
export function interpolate(x: Tensor, size: Ints, mode: InterpolateMode): Tensor {
  return new Tensor(N().interpolate(x.handle, size, mode));
}

/** (B, C·r², H, W) → (B, C, H·r, W·r), PyTorch's channel order c·r² + i·r + j. */
export function pixelShuffle(x: Tensor, factor: number): Tensor {
  return new Tensor(N().pixelShuffle(x.handle, factor));
}
export function pixelUnshuffle(x: Tensor, factor: number): Tensor {
  return new Tensor(N().pixelUnshuffle(x.handle, factor));
}

/** Sampling grid for affine matrices theta (B, 2, 3) or (B, 3, 4), output size (B, C, H, W[, D]). */
export function affineGrid(theta: Tensor, size: Ints, alignCorners = false): Tensor {
  return new Tensor(N().affineGrid(theta.handle, size, alignCorners));
}
export function gridSample(
  x: Tensor,
  grid: Tensor,
  opts: {
    mode?: 'bilinear' | 'nearest' | 'bicubic';
    padding?: 'zeros' | 'border' | 'reflection';
    alignCorners?: boolean;
  } = {},
): Tensor {
  return new Tensor(
    N().gridSample(x.handle, grid.handle, opts.mode ?? 'bilinear', opts.padding ?? 'zeros', opts.alignCorners ?? false),
  );
}
