// The native addon's shape, declared once, and its loader. Everything above this file talks to
// libtorch only through `native`.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { EngineUnavailableError } from '../errors.js';

/** An opaque libtorch tensor owned by JavaScript (native/tensor.cc). */
export interface NativeTensor {
  dispose(): void;
  isDisposed(): boolean;
}
type H = NativeTensor;
/** An opaque job queued on the addon's background thread (native/async.cc). */
export interface NativeJob {
  readonly __job: unique symbol;
}
type Num = number | null | undefined;
export type Ints = readonly number[];

export interface NativeAddon {
  // runtime
  setNumThreads(n: number): void;
  setThreadsHere(n: number): void;
  getNumThreads(): number;
  memory(): { liveTensors: number; liveBytes: number; finalizedLeaks: number; cachedCpuBytes: number };
  /** Present when the caching CPU allocator is installed (not with RDL_CPU_CACHE_MB=0). */
  emptyCache?(): number;
  buildInfo(): {
    torchVersion: string;
    cudaBuild: boolean;
    cudaAvailable: boolean;
    cudaDeviceCount: number;
    debug: boolean;
    /** OpenBLAS's thread count (1 unless OPENBLAS_NUM_THREADS says otherwise), null with another BLAS. */
    openblasThreads: number | null;
  };
  // conversion and properties
  fromArray(data: ArrayBufferView, shape: Ints, dtype?: string | null, device?: string | null): H;
  toArray(t: H): Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
  readInto(t: H, out: ArrayBufferView): void;
  item(t: H): number;
  shape(t: H): number[];
  dtype(t: H): string;
  device(t: H): string;
  isContiguous(t: H): boolean;
  to(t: H, dtype: string | null, device: string | null, copy?: boolean): H;
  // creation
  full(shape: Ints, value: number, dtype: string, device: string): H;
  arange(start: number, end: number, step: number, dtype: string, device: string): H;
  linspace(start: number, end: number, steps: number, dtype: string, device: string): H;
  meshgrid(ts: H[]): H[];
  rand(shape: Ints, seed: Num, dtype: string, device: string): H;
  randn(shape: Ints, seed: Num, dtype: string, device: string): H;
  randint(low: number, high: number, shape: Ints, seed: Num, dtype: string, device: string): H;
  randperm(n: number, seed: Num, device: string): H;
  poisson(rates: H, seed: Num): H;
  manualSeed(seed: number): void;
  // math
  unary(name: string, t: H): H;
  binary(name: string, a: H, b: H | number): H;
  rbinary(name: string, a: number, b: H): H;
  where(cond: H, a: H, b: H): H;
  clamp(t: H, min: Num, max: Num): H;
  leakyRelu(t: H, slope: number): H;
  inplace(name: string, t: H, other?: H | number | null, extra?: number | null): void;
  reduce(name: string, t: H, dims: Ints | null, keepdim: boolean, unbiased?: boolean): H;
  argmax(t: H, dim: Num, keepdim: boolean): H;
  quantile(t: H, q: number, dim: Num, keepdim: boolean): H;
  matmul(a: H, b: H): H;
  // background jobs (native/async.cc)
  multiDotStart(ts: H[]): NativeJob;
  jobWait(job: NativeJob): H;
  keepAwake(ms: number): void;
  // shape
  reshape(t: H, shape: Ints): H;
  view(t: H, shape: Ints): H;
  permute(t: H, dims: Ints): H;
  transpose(t: H, a: number, b: number): H;
  contiguous(t: H): H;
  clone(t: H): H;
  narrow(t: H, dim: number, start: number, length: number): H;
  slice(t: H, dim: number, start: number, end: Num, step: number): H;
  select(t: H, dim: number, index: number): H;
  indexSelect(t: H, dim: number, index: H): H;
  gather(t: H, dim: number, index: H): H;
  maskedFill(t: H, mask: H, value: number): H;
  unfold(t: H, dim: number, size: number, step: number): H;
  flip(t: H, dims: Ints): H;
  roll(t: H, shifts: Ints, dims: Ints): H;
  cat(ts: H[], dim: number): H;
  stack(ts: H[], dim: number): H;
  repeat(t: H, reps: Ints): H;
  expand(t: H, shape: Ints): H;
  squeeze(t: H, dim: Num): H;
  unsqueeze(t: H, dim: number): H;
  pad(t: H, pads: Ints, mode: string, value?: number): H;
  // nn and signal
  conv(x: H, w: H, b: H | null, stride: Ints, padding: Ints | 'same' | 'valid', dilation: Ints, groups: number): H;
  pool(kind: 'avg' | 'max', t: H, kernel: Ints, stride: Ints, padding: Ints): H;
  adaptiveAvgPool(t: H, size: Ints): H;
  interpolate(t: H, size: Ints, mode: string): H;
  pixelShuffle(t: H, factor: number): H;
  pixelUnshuffle(t: H, factor: number): H;
  affineGrid(theta: H, size: Ints, alignCorners: boolean): H;
  gridSample(t: H, grid: H, mode: string, padding: string, alignCorners: boolean): H;
  softmax(t: H, dim: number): H;
  fft(kind: string, t: H, s: Ints | null, dims: Ints | null, norm: string | null): H;
  fftshift(t: H, dims: Ints | null): H;
  ifftshift(t: H, dims: Ints | null): H;
  // autograd and optimizers
  setRequiresGrad(t: H, on: boolean): void;
  requiresGrad(t: H): boolean;
  backward(t: H, grad: H | null, retainGraph: boolean): void;
  grad(t: H): H | null;
  clearGrad(t: H): void;
  detach(t: H): H;
  setGradEnabled(on: boolean): boolean;
  isGradEnabled(): boolean;
  adamStep(
    params: H[],
    expAvg: H[],
    expAvgSq: H[],
    step: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    decoupled: boolean,
    kerasEps: boolean,
  ): void;
}

const addonPath = fileURLToPath(new URL('../../../build/Release/rdl_native.node', import.meta.url));
const libtorchInfoPath = fileURLToPath(new URL('../../../build/libtorch.json', import.meta.url));

function load(): NativeAddon {
  if (!existsSync(addonPath)) {
    throw new EngineUnavailableError(
      `the native engine is not built (${addonPath} is missing). Run \`npm run setup\` in the rdl folder; ` +
        'it finds or installs libtorch and builds the addon.',
    );
  }
  try {
    const addon = createRequire(import.meta.url)(addonPath) as NativeAddon;
    const threads = Number(process.env.RDL_THREADS ?? availableParallelism());
    addon.setNumThreads(Number.isInteger(threads) && threads > 0 ? threads : availableParallelism());
    return addon;
  } catch (err) {
    let where = '';
    if (existsSync(libtorchInfoPath)) {
      const info = JSON.parse(readFileSync(libtorchInfoPath, 'utf8')) as { source: string; libDir: string };
      where = ` It was built against libtorch from ${info.source} (${info.libDir}); is that still installed?`;
    }
    throw new EngineUnavailableError(
      `the native engine failed to load: ${(err as Error).message.split('\n')[0]}.${where} ` +
        'Rebuild with `npm run setup`.',
    );
  }
}

let cached: NativeAddon | undefined;

/** The addon, loaded on first use so that commands that need no engine start without it. */
export function native(): NativeAddon {
  cached ??= load();
  return cached;
}
