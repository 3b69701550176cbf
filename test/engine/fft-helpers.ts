// Re-exports for the FFT tests, plus an element-wise cos that reads better in formulas.
export { arange, fft, randn, type Tensor, tensor, tidy, zeros } from '../../src/engine/index.js';

import type { Tensor } from '../../src/engine/index.js';
export const cos = (t: Tensor): Tensor => t.cos();
