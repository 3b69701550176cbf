// Full-reference image metrics: MSE, NRMSE, PSNR and SSIM, each after min–max normalization of
// both images (data range 1), as the reference's validation does. SSIM follows TensorFlow's
// tf.image.ssim (the reference's loss and metric): 11×11 Gaussian window, σ = 1.5 px,
// K1 = 0.01, K2 = 0.03, 'valid' filtering (no padding), mean over the map. Note that
// scikit-image's defaults differ (7×7 uniform window), so its numbers are not comparable.
import { F, type Tensor, tensor, tidy } from '../engine/index.js';
import { ParameterError, ShapeError } from '../errors.js';
import { minMaxNormalize } from './normalize.js';

export interface FidelityOptions {
  /** 'minmax' (default): normalize each image to [0, 1] first; 'none': use values as given. */
  normalize?: 'minmax' | 'none';
  /** Data range L for PSNR and SSIM's constants (default 1, right after min–max). */
  dataRange?: number;
}

export interface Fidelity {
  mse: number;
  /** ‖a − b‖₂ / ‖a‖₂ (the Euclidean NRMSE of old scikit-image's compare_nrmse, a = reference). */
  nrmse: number;
  /** 10·log10(L²/MSE), dB. */
  psnr: number;
  ssim: number;
}

export const SSIM_WINDOW = 11;
export const SSIM_SIGMA = 1.5;

/** Compares a test image with a reference; both [y, x] (or [..., y, x] with the same shape). */
export function fidelity(reference: Tensor, test: Tensor, o: FidelityOptions = {}): Fidelity {
  checkPair(reference, test);
  const L = o.dataRange ?? 1;
  if (!(L > 0)) throw new ParameterError('data range', 'a number > 0', L);
  return tidy(() => {
    const [a, b] = prepare(reference, test, o.normalize ?? 'minmax');
    const diff2 = a.sub(b).square().sum().item();
    const mse = diff2 / a.size;
    const ref2 = a.square().sum().item();
    return {
      mse,
      nrmse: ref2 > 0 ? Math.sqrt(diff2 / ref2) : Number.POSITIVE_INFINITY,
      psnr: mse > 0 ? 10 * Math.log10((L * L) / mse) : Number.POSITIVE_INFINITY,
      ssim: ssimOf(a, b, L),
    };
  });
}

/** SSIM alone (see the file comment for the window and constants). */
export function ssim(reference: Tensor, test: Tensor, o: FidelityOptions = {}): number {
  checkPair(reference, test);
  return tidy(() => {
    const [a, b] = prepare(reference, test, o.normalize ?? 'minmax');
    return ssimOf(a, b, o.dataRange ?? 1);
  });
}

function checkPair(a: Tensor, b: Tensor): void {
  if (a.rank < 2) throw new ShapeError(`metrics need images [y, x], found shape [${a.shape.join(', ')}]`);
  if (a.shape.join() !== b.shape.join()) {
    throw new ShapeError(`the images differ in shape: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
  if (a.dim(-1) < SSIM_WINDOW || a.dim(-2) < SSIM_WINDOW) {
    throw new ShapeError(
      `SSIM needs images of at least ${SSIM_WINDOW}×${SSIM_WINDOW} pixels, found ${a.dim(-2)}×${a.dim(-1)}`,
    );
  }
}

function prepare(a: Tensor, b: Tensor, how: 'minmax' | 'none'): [Tensor, Tensor] {
  return how === 'minmax' ? [minMaxNormalize(a), minMaxNormalize(b)] : [a.to('float64'), b.to('float64')];
}

/** Mean SSIM of float64 images [..., y, x] (leading dims flattened into a batch). */
function ssimOf(a: Tensor, b: Tensor, L: number): number {
  const h = a.dim(-2);
  const w = a.dim(-1);
  const x = a.reshape([-1, 1, h, w]);
  const y = b.reshape([-1, 1, h, w]);
  const g = gaussianWindow(SSIM_WINDOW, SSIM_SIGMA, a.device);
  const blur = (t: Tensor) => F.conv2d(F.conv2d(t, g.col), g.row); // valid filtering
  const mx = blur(x);
  const my = blur(y);
  const sxx = blur(x.square()).sub(mx.square());
  const syy = blur(y.square()).sub(my.square());
  const sxy = blur(x.mul(y)).sub(mx.mul(my));
  const c1 = (0.01 * L) ** 2;
  const c2 = (0.03 * L) ** 2;
  const num = mx.mul(my).mul(2).add(c1).mul(sxy.mul(2).add(c2));
  const den = mx.square().add(my.square()).add(c1).mul(sxx.add(syy).add(c2));
  return num.div(den).mean().item();
}

/** Normalized 1D Gaussian as [1,1,n,1] and [1,1,1,n] float64 kernels (separable 2D window). */
function gaussianWindow(n: number, sigma: number, device: string): { col: Tensor; row: Tensor } {
  const v = new Float64Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) {
    v[i] = Math.exp(-((i - (n - 1) / 2) ** 2) / (2 * sigma * sigma));
    s += v[i] as number;
  }
  for (let i = 0; i < n; i++) v[i] = (v[i] as number) / s;
  const o = { dtype: 'float64', device } as const;
  return { col: tensor(v, [1, 1, n, 1], o), row: tensor(v, [1, 1, 1, n], o) };
}
