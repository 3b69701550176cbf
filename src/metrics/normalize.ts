// Min–max normalization as the reference's prctile_norm with its defaults (0th and 100th
// percentiles): (v − min)/(max − min + 1e-7), over every element passed. After it the data
// range is [0, 1], which is the range PSNR and SSIM below assume.
import { type Tensor, tidy } from '../engine/index.js';

/** The reference's 1e-7: keeps a constant image finite (it maps to 0). */
export const NORM_EPS = 1e-7;

/** (t − min)/(max − min + 1e-7) over all of t, in float64. */
export function minMaxNormalize(t: Tensor): Tensor {
  return tidy(() => {
    const x = t.to('float64');
    const lo = x.min().item();
    const hi = x.max().item();
    return x.sub(lo).div(hi - lo + NORM_EPS);
  });
}
