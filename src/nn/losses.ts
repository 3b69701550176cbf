// The reference's training losses (utils/loss.py). Layouts are ours: images (B, C, H, W),
// volumes (B, C, Z, Y, X).
import { F, type Tensor, tensor, tidy } from '../engine/index.js';
import { ShapeError } from '../errors.js';

/** Weight of the SSIM term in mse_ssim (the reference's ssim_para). */
const SSIM_WEIGHT = 0.1;

/** Mean squared error. */
export function mse(pred: Tensor, target: Tensor): Tensor {
  return tidy(() => pred.sub(target).square().mean());
}

/** (x − min) / (max − min) over the whole tensor (the whole batch, as the reference does). */
export function minMaxNormalize(x: Tensor): Tensor {
  return tidy(() => {
    const lo = x.min();
    return x.sub(lo).div(x.max().sub(lo));
  });
}

/** TensorFlow's SSIM window: 11 × 11 Gaussian, σ 1.5 pixels, normalized to sum 1. */
function gaussianWindow(device: string): Tensor {
  const size = 11;
  const sigma = 1.5;
  const g = Array.from({ length: size }, (_, i) => Math.exp(-0.5 * ((i - (size - 1) / 2) / sigma) ** 2));
  const s = g.reduce((a, b) => a + b, 0);
  const w = g.flatMap((a) => g.map((b) => (a * b) / (s * s)));
  return tensor(w, [1, 1, size, size], { device });
}

/**
 * Mean SSIM with tf.image.ssim's semantics: 11 × 11 Gaussian window (σ 1.5), 'valid' filtering
 * (no padding: each side loses 5 pixels), k1 0.01, k2 0.03, dynamic range maxVal; averaged over
 * every (y, x) plane — channels, batch and, for volumes, z. The planes are the last two dims.
 */
export function ssim(x: Tensor, y: Tensor, maxVal = 1): Tensor {
  const h = x.dim(-2);
  const w = x.dim(-1);
  if (h < 11 || w < 11) throw new ShapeError(`SSIM needs planes of at least 11 × 11 pixels, got ${h} × ${w}`);
  return tidy(() => {
    const win = gaussianWindow(x.device);
    const planes = (t: Tensor) => t.reshape(-1, 1, h, w);
    const filt = (t: Tensor) => F.conv2d(t, win);
    const a = planes(x);
    const b = planes(y);
    const c1 = (0.01 * maxVal) ** 2;
    const c2 = (0.03 * maxVal) ** 2;
    const mx = filt(a);
    const my = filt(b);
    const mxy = mx.mul(my);
    const m2 = mx.square().add(my.square());
    const luminance = mxy.mul(2).add(c1).div(m2.add(c1));
    const cs = filt(a.mul(b))
      .sub(mxy)
      .mul(2)
      .add(c2)
      .div(filt(a.square().add(b.square())).sub(m2).add(c2));
    return luminance.mul(cs).mean();
  });
}

/**
 * mse_ssim: both tensors min–max normalized over the whole batch, then MSE + 0.1 · (1 − SSIM).
 * Works for images and volumes alike (the reference's mse_ssim_3d takes SSIM over (y, x) planes).
 */
export function mseSsim(pred: Tensor, target: Tensor): Tensor {
  return tidy(() => {
    const t = minMaxNormalize(target);
    const p = minMaxNormalize(pred);
    return mse(p, t).add(ssim(t, p).rsub(1).mul(SSIM_WEIGHT));
  });
}

/**
 * mse_gar (SiS-rDL): MSE(target, pred) + gamma · MSE(target − pred, gar), where gar is the
 * frozen network's output difference between neighbouring slices (see ALGORITHMS.md §6).
 */
export function mseGar(pred: Tensor, target: Tensor, gar: Tensor, gamma = 1): Tensor {
  return tidy(() => {
    const residual = target.sub(pred);
    return residual.square().mean().add(residual.sub(gar).square().mean().mul(gamma));
  });
}
