// The Tensor class: a typed view of one libtorch tensor. Methods return new tensors (owned by
// the innermost tidy() scope, if any); in-place methods end in an underscore, as in PyTorch.
import { type Ints, type NativeTensor, native } from './native.js';
import { type Scoped, track } from './scope.js';

export type DType =
  | 'float32'
  | 'float64'
  | 'bfloat16'
  | 'float16'
  | 'complex64'
  | 'complex128'
  | 'int32'
  | 'int64'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool';

/** 'cpu', 'cuda' or 'cuda:N'. */
export type Device = string;

export type TensorLike = Tensor | number;

/** The typed array toArray() returns for each dtype (int64 → float64; float16/bfloat16 → float32;
 * complex → interleaved re, im; bool → uint8). */
export type TypedArrayOut = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

const N = native;

export class Tensor implements Scoped {
  #h: NativeTensor | null;
  #shape: number[] | undefined;
  #dtype: DType | undefined;

  /** Wraps a native handle (engine-internal; use the creation functions). */
  constructor(handle: NativeTensor) {
    this.#h = handle;
    track(this);
  }

  /** The native handle; throws once the tensor is disposed. */
  get handle(): NativeTensor {
    if (this.#h === null) throw new Error('a tensor was used after dispose()');
    return this.#h;
  }

  get isDisposed(): boolean {
    return this.#h === null;
  }

  dispose(): void {
    if (this.#h !== null) {
      this.#h.dispose();
      this.#h = null;
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ------------------------------------------------------------ properties
  get shape(): number[] {
    this.#shape ??= N().shape(this.handle);
    return this.#shape.slice();
  }
  get rank(): number {
    this.#shape ??= N().shape(this.handle);
    return this.#shape.length;
  }
  get size(): number {
    this.#shape ??= N().shape(this.handle);
    return this.#shape.reduce((a, b) => a * b, 1);
  }
  get dtype(): DType {
    this.#dtype ??= N().dtype(this.handle) as DType;
    return this.#dtype;
  }
  get device(): Device {
    return N().device(this.handle);
  }
  get isComplex(): boolean {
    return this.dtype === 'complex64' || this.dtype === 'complex128';
  }
  isContiguous(): boolean {
    return N().isContiguous(this.handle);
  }
  /** Size of one dimension (negative counts from the end). */
  dim(d: number): number {
    const s = this.shape;
    const i = d < 0 ? s.length + d : d;
    if (i < 0 || i >= s.length) throw new RangeError(`dimension ${d} out of range for shape [${s}]`);
    return s[i] as number;
  }
  toString(): string {
    return this.isDisposed ? 'Tensor(disposed)' : `Tensor([${this.shape}], ${this.dtype}, ${this.device})`;
  }

  // ------------------------------------------------------------ conversion
  /** A copy of the data in a typed array (see TypedArrayOut for the mapping). */
  toArray(): TypedArrayOut {
    return N().toArray(this.handle);
  }
  /**
   * Copies the data into `out`, which must be the typed array toArray() would return (same element
   * type) with exactly `size` elements; a subarray view of a larger buffer works. For hot loops that
   * would otherwise allocate a new array per call.
   */
  readInto(out: TypedArrayOut): void {
    N().readInto(this.handle, out);
  }
  toFloat32Array(): Float32Array {
    if (this.dtype === 'float32') return N().toArray(this.handle) as Float32Array;
    const t = new Tensor(N().to(this.handle, 'float32', null));
    try {
      return N().toArray(t.handle) as Float32Array;
    } finally {
      t.dispose();
    }
  }
  /** The value of a one-element tensor. */
  item(): number {
    return N().item(this.handle);
  }
  to(target: { dtype?: DType; device?: Device; copy?: boolean } | DType | Device): Tensor {
    const t = typeof target === 'string' ? (isDType(target) ? { dtype: target } : { device: target }) : target;
    return new Tensor(N().to(this.handle, t.dtype ?? null, t.device ?? null, t.copy ?? false));
  }
  float(): Tensor {
    return this.to({ dtype: 'float32' });
  }
  double(): Tensor {
    return this.to({ dtype: 'float64' });
  }

  // ------------------------------------------------------------ element-wise
  #u(name: string): Tensor {
    return new Tensor(N().unary(name, this.handle));
  }
  #b(name: string, other: TensorLike): Tensor {
    return new Tensor(N().binary(name, this.handle, other instanceof Tensor ? other.handle : other));
  }
  add(o: TensorLike): Tensor {
    return this.#b('add', o);
  }
  sub(o: TensorLike): Tensor {
    return this.#b('sub', o);
  }
  /** o − this (for a number o, e.g. 1 − x). */
  rsub(o: number): Tensor {
    return new Tensor(N().rbinary('sub', o, this.handle));
  }
  mul(o: TensorLike): Tensor {
    return this.#b('mul', o);
  }
  div(o: TensorLike): Tensor {
    return this.#b('div', o);
  }
  /** o / this (for a number o). */
  rdiv(o: number): Tensor {
    return new Tensor(N().rbinary('div', o, this.handle));
  }
  pow(o: TensorLike): Tensor {
    return this.#b('pow', o);
  }
  atan2(o: TensorLike): Tensor {
    return this.#b('atan2', o);
  }
  maximum(o: TensorLike): Tensor {
    return this.#b('maximum', o);
  }
  minimum(o: TensorLike): Tensor {
    return this.#b('minimum', o);
  }
  remainder(o: TensorLike): Tensor {
    return this.#b('remainder', o);
  }
  eq(o: TensorLike): Tensor {
    return this.#b('eq', o);
  }
  ne(o: TensorLike): Tensor {
    return this.#b('ne', o);
  }
  lt(o: TensorLike): Tensor {
    return this.#b('lt', o);
  }
  le(o: TensorLike): Tensor {
    return this.#b('le', o);
  }
  gt(o: TensorLike): Tensor {
    return this.#b('gt', o);
  }
  ge(o: TensorLike): Tensor {
    return this.#b('ge', o);
  }
  logicalAnd(o: Tensor): Tensor {
    return this.#b('logicalAnd', o);
  }
  logicalOr(o: Tensor): Tensor {
    return this.#b('logicalOr', o);
  }
  logicalNot(): Tensor {
    return this.#u('logicalNot');
  }
  neg(): Tensor {
    return this.#u('neg');
  }
  abs(): Tensor {
    return this.#u('abs');
  }
  exp(): Tensor {
    return this.#u('exp');
  }
  expm1(): Tensor {
    return this.#u('expm1');
  }
  log(): Tensor {
    return this.#u('log');
  }
  log1p(): Tensor {
    return this.#u('log1p');
  }
  sqrt(): Tensor {
    return this.#u('sqrt');
  }
  rsqrt(): Tensor {
    return this.#u('rsqrt');
  }
  square(): Tensor {
    return this.#u('square');
  }
  reciprocal(): Tensor {
    return this.#u('reciprocal');
  }
  sin(): Tensor {
    return this.#u('sin');
  }
  cos(): Tensor {
    return this.#u('cos');
  }
  tan(): Tensor {
    return this.#u('tan');
  }
  erf(): Tensor {
    return this.#u('erf');
  }
  sigmoid(): Tensor {
    return this.#u('sigmoid');
  }
  relu(): Tensor {
    return this.#u('relu');
  }
  tanh(): Tensor {
    return this.#u('tanh');
  }
  /** GELU, exact (erf) form: x·Φ(x). */
  gelu(): Tensor {
    return this.#u('gelu');
  }
  leakyRelu(slope = 0.01): Tensor {
    return new Tensor(N().leakyRelu(this.handle, slope));
  }
  floor(): Tensor {
    return this.#u('floor');
  }
  ceil(): Tensor {
    return this.#u('ceil');
  }
  round(): Tensor {
    return this.#u('round');
  }
  sign(): Tensor {
    return this.#u('sign');
  }
  isnan(): Tensor {
    return this.#u('isnan');
  }
  isfinite(): Tensor {
    return this.#u('isfinite');
  }
  clamp(min: number | null, max: number | null = null): Tensor {
    return new Tensor(N().clamp(this.handle, min, max));
  }
  /** this where cond is true, else other. */
  where(cond: Tensor, other: Tensor): Tensor {
    return new Tensor(N().where(cond.handle, this.handle, other.handle));
  }
  softmax(dim: number): Tensor {
    return new Tensor(N().softmax(this.handle, dim));
  }

  // ------------------------------------------------------------ complex
  real(): Tensor {
    return this.#u('real');
  }
  imag(): Tensor {
    return this.#u('imag');
  }
  angle(): Tensor {
    return this.#u('angle');
  }
  conj(): Tensor {
    return this.#u('conj');
  }
  /** A complex tensor as real with a trailing dimension of 2 (re, im). */
  viewAsReal(): Tensor {
    return this.#u('viewAsReal');
  }
  /** A real tensor with a trailing dimension of 2 as complex. */
  viewAsComplex(): Tensor {
    return this.#u('viewAsComplex');
  }

  // ------------------------------------------------------------ in place
  copy_(src: Tensor): this {
    N().inplace('copy', this.handle, src.handle);
    return this;
  }
  fill_(value: number): this {
    N().inplace('fill', this.handle, value);
    return this;
  }
  zero_(): this {
    N().inplace('zero', this.handle);
    return this;
  }
  add_(o: TensorLike, alpha = 1): this {
    N().inplace('add', this.handle, o instanceof Tensor ? o.handle : o, alpha);
    return this;
  }
  mul_(o: TensorLike): this {
    N().inplace('mul', this.handle, o instanceof Tensor ? o.handle : o);
    return this;
  }
  div_(o: TensorLike): this {
    N().inplace('div', this.handle, o instanceof Tensor ? o.handle : o);
    return this;
  }
  clamp_(min: number | null, max: number | null = null): this {
    N().inplace('clamp', this.handle, min, max);
    return this;
  }

  // ------------------------------------------------------------ reductions
  #r(name: string, dims: number | Ints | undefined, keepdim: boolean, unbiased?: boolean): Tensor {
    const d = dims === undefined ? null : typeof dims === 'number' ? [dims] : dims;
    return new Tensor(N().reduce(name, this.handle, d, keepdim, unbiased));
  }
  sum(dims?: number | Ints, keepdim = false): Tensor {
    return this.#r('sum', dims, keepdim);
  }
  mean(dims?: number | Ints, keepdim = false): Tensor {
    return this.#r('mean', dims, keepdim);
  }
  prod(dim?: number, keepdim = false): Tensor {
    return this.#r('prod', dim, keepdim);
  }
  max(dims?: number | Ints, keepdim = false): Tensor {
    return this.#r('max', dims, keepdim);
  }
  min(dims?: number | Ints, keepdim = false): Tensor {
    return this.#r('min', dims, keepdim);
  }
  /** Standard deviation; unbiased (n − 1) by default, as PyTorch. */
  std(dims?: number | Ints, keepdim = false, unbiased = true): Tensor {
    return this.#r('std', dims, keepdim, unbiased);
  }
  variance(dims?: number | Ints, keepdim = false, unbiased = true): Tensor {
    return this.#r('var', dims, keepdim, unbiased);
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return new Tensor(N().argmax(this.handle, dim, keepdim));
  }
  /** The q-quantile (0…1) with linear interpolation, as numpy.percentile's default. */
  quantile(q: number, dim?: number, keepdim = false): Tensor {
    return new Tensor(N().quantile(this.handle, q, dim, keepdim));
  }

  // ------------------------------------------------------------ shape
  reshape(...shape: number[] | [Ints]): Tensor {
    return new Tensor(N().reshape(this.handle, flat(shape)));
  }
  view(...shape: number[] | [Ints]): Tensor {
    return new Tensor(N().view(this.handle, flat(shape)));
  }
  flatten(): Tensor {
    return this.reshape(-1);
  }
  permute(...dims: number[] | [Ints]): Tensor {
    return new Tensor(N().permute(this.handle, flat(dims)));
  }
  transpose(a: number, b: number): Tensor {
    return new Tensor(N().transpose(this.handle, a, b));
  }
  contiguous(): Tensor {
    return new Tensor(N().contiguous(this.handle));
  }
  clone(): Tensor {
    return new Tensor(N().clone(this.handle));
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return new Tensor(N().narrow(this.handle, dim, start, length));
  }
  /** Elements start…end−1 (end null: to the end) with a step, along dim. */
  slice(dim: number, start: number, end: number | null = null, step = 1): Tensor {
    return new Tensor(N().slice(this.handle, dim, start, end, step));
  }
  /** The index-th sub-tensor along dim (that dimension removed). */
  select(dim: number, index: number): Tensor {
    return new Tensor(N().select(this.handle, dim, index));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(N().indexSelect(this.handle, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(N().gather(this.handle, dim, index.handle));
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return new Tensor(N().maskedFill(this.handle, mask.handle, value));
  }
  /**
   * A view of every window of `size` elements along `dim`, `step` apart, as a new last dimension
   * (PyTorch's Tensor.unfold): [n] → [(n − size)/step + 1, size]. With step 1 the windows overlap,
   * e.g. a Hankel matrix H[i, j] = v[i + j] without copying.
   */
  unfold(dim: number, size: number, step: number): Tensor {
    return new Tensor(N().unfold(this.handle, dim, size, step));
  }
  flip(dims: number | Ints): Tensor {
    return new Tensor(N().flip(this.handle, typeof dims === 'number' ? [dims] : dims));
  }
  roll(shifts: number | Ints, dims: number | Ints): Tensor {
    return new Tensor(
      N().roll(this.handle, typeof shifts === 'number' ? [shifts] : shifts, typeof dims === 'number' ? [dims] : dims),
    );
  }
  repeat(...reps: number[] | [Ints]): Tensor {
    return new Tensor(N().repeat(this.handle, flat(reps)));
  }
  expand(...shape: number[] | [Ints]): Tensor {
    return new Tensor(N().expand(this.handle, flat(shape)));
  }
  squeeze(dim?: number): Tensor {
    return new Tensor(N().squeeze(this.handle, dim));
  }
  unsqueeze(dim: number): Tensor {
    return new Tensor(N().unsqueeze(this.handle, dim));
  }
  /**
   * Pads as torch.nn.functional.pad: pads = [lastBefore, lastAfter, prevBefore, prevAfter, …].
   * reflect/replicate take 1–3 trailing dims of a (batch, channel, …) tensor.
   */
  pad(pads: Ints, mode: 'constant' | 'reflect' | 'replicate' | 'circular' = 'constant', value = 0): Tensor {
    return new Tensor(N().pad(this.handle, pads, mode, value));
  }
  matmul(o: Tensor): Tensor {
    return new Tensor(N().matmul(this.handle, o.handle));
  }

  // ------------------------------------------------------------ autograd
  get requiresGrad(): boolean {
    return N().requiresGrad(this.handle);
  }
  /** Marks a leaf tensor as a variable whose gradient backward() accumulates. */
  requiresGrad_(on = true): this {
    N().setRequiresGrad(this.handle, on);
    return this;
  }
  /** Back-propagates from this tensor (a scalar, or with the gradient of the same shape). */
  backward(gradient?: Tensor, retainGraph = false): void {
    N().backward(this.handle, gradient?.handle ?? null, retainGraph);
  }
  /** The accumulated gradient (a new handle sharing its memory), or null before backward(). */
  get grad(): Tensor | null {
    const g = N().grad(this.handle);
    return g === null ? null : new Tensor(g);
  }
  /** Forgets the accumulated gradient. */
  clearGrad(): void {
    N().clearGrad(this.handle);
  }
  /** The same data, cut from the autograd graph. */
  detach(): Tensor {
    return new Tensor(N().detach(this.handle));
  }
}

function flat(args: number[] | [Ints]): Ints {
  return args.length === 1 && Array.isArray(args[0]) ? (args[0] as Ints) : (args as number[]);
}

const DTYPES = new Set<string>([
  'float32',
  'float64',
  'bfloat16',
  'float16',
  'complex64',
  'complex128',
  'int32',
  'int64',
  'int16',
  'int8',
  'uint8',
  'bool',
]);
export function isDType(s: string): s is DType {
  return DTYPES.has(s);
}
