// Tensor creation. Every function takes { dtype, device }; device defaults to getDefaultDevice().
import { ParameterError } from '../errors.js';
import { getDefaultDevice } from './device.js';
import { type Ints, native } from './native.js';
import { type Device, type DType, Tensor } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  device?: Device;
}
export interface RandomOptions extends CreateOptions {
  /** Seed for this call alone; without it the global generator (see manualSeed) is used. */
  seed?: number;
}

const N = native;
const dev = (o?: CreateOptions) => o?.device ?? getDefaultDevice();

type TypedArrayIn =
  | Float32Array
  | Float64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array;

/**
 * A tensor from data (row-major). Typed arrays keep their type unless opts.dtype says
 * otherwise (Uint16Array becomes int32, Uint32Array int64: libtorch has no unsigned types
 * beyond uint8); plain number arrays become float32.
 */
export function tensor(data: TypedArrayIn | readonly number[], shape?: Ints, opts?: CreateOptions): Tensor {
  const arr = ArrayBuffer.isView(data) ? data : Float32Array.from(data);
  const s = shape ?? [arr.length];
  return new Tensor(N().fromArray(arr, s, opts?.dtype ?? null, dev(opts)));
}

/** A 0-dimensional tensor. */
export function scalar(value: number, opts?: CreateOptions): Tensor {
  return full([], value, opts);
}

export function full(shape: Ints, value: number, opts?: CreateOptions): Tensor {
  return new Tensor(N().full(shape, value, opts?.dtype ?? 'float32', dev(opts)));
}
export function zeros(shape: Ints, opts?: CreateOptions): Tensor {
  return full(shape, 0, opts);
}
export function ones(shape: Ints, opts?: CreateOptions): Tensor {
  return full(shape, 1, opts);
}
export function zerosLike(t: Tensor): Tensor {
  return full(t.shape, 0, { dtype: t.dtype, device: t.device });
}
export function onesLike(t: Tensor): Tensor {
  return full(t.shape, 1, { dtype: t.dtype, device: t.device });
}

/** start, start+step, … below end. */
export function arange(start: number, end: number, step = 1, opts?: CreateOptions): Tensor {
  if (step === 0) throw new ParameterError('arange step', 'a non-zero number', step);
  return new Tensor(N().arange(start, end, step, opts?.dtype ?? 'float32', dev(opts)));
}
/** steps values evenly from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, opts?: CreateOptions): Tensor {
  return new Tensor(N().linspace(start, end, steps, opts?.dtype ?? 'float32', dev(opts)));
}
/** Grids with 'ij' indexing: the i-th output varies along dimension i. */
export function meshgrid(...axes: Tensor[]): Tensor[] {
  return N()
    .meshgrid(axes.map((a) => a.handle))
    .map((h) => new Tensor(h));
}

/** Uniform on [0, 1). Drawn on the CPU and moved, so a seed gives the same values on any device. */
export function rand(shape: Ints, opts?: RandomOptions): Tensor {
  return new Tensor(N().rand(shape, opts?.seed, opts?.dtype ?? 'float32', dev(opts)));
}
/** Standard normal. */
export function randn(shape: Ints, opts?: RandomOptions): Tensor {
  return new Tensor(N().randn(shape, opts?.seed, opts?.dtype ?? 'float32', dev(opts)));
}
/** Integers in [low, high); int64 unless dtype says otherwise. */
export function randint(low: number, high: number, shape: Ints, opts?: RandomOptions): Tensor {
  return new Tensor(N().randint(low, high, shape, opts?.seed, opts?.dtype ?? 'int64', dev(opts)));
}
/** A random permutation of 0…n−1 (int64). */
export function randperm(n: number, opts?: Omit<RandomOptions, 'dtype'>): Tensor {
  return new Tensor(N().randperm(n, opts?.seed, dev(opts)));
}
/** Poisson samples with the given rates (same shape, dtype and device as rates). */
export function poisson(rates: Tensor, seed?: number): Tensor {
  return new Tensor(N().poisson(rates.handle, seed));
}
/** Seeds the global generator used by random functions called without a seed. */
export function manualSeed(seed: number): void {
  N().manualSeed(seed);
}

/** re + i·im. */
export function complex(re: Tensor, im: Tensor): Tensor {
  return new Tensor(N().binary('complex', re.handle, im.handle));
}
/** magnitude · e^{i·angle}. */
export function polar(magnitude: Tensor, angle: Tensor): Tensor {
  return new Tensor(N().binary('polar', magnitude.handle, angle.handle));
}

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(
    N().cat(
      tensors.map((t) => t.handle),
      dim,
    ),
  );
}
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(
    N().stack(
      tensors.map((t) => t.handle),
      dim,
    ),
  );
}
/** a where cond is true, else b. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  return new Tensor(N().where(cond.handle, a.handle, b.handle));
}
