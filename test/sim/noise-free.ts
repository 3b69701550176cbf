// Noise-free SIM cycles with a known pattern, for the fit's tests: S·(1 + m·cos(2πk·r + φ + 2πj/3))
// ⊛ PSF on the raw grid (no pixel binning; the frames wrap around), plus a camera offset of 100
// counts, r from pixel (H/2, W/2) as `rdl estimate` reports φ.
import { fft, rand, stack, type Tensor, tensor, tidy } from '../../src/engine/index.js';
import type { ImageGrid } from '../../src/sim/grid.js';
import { type OtfTable, otf2d } from '../../src/sim/otf.js';
import { DEVICE } from '../helpers.js';

export interface PatternTruth {
  kx: number;
  ky: number;
  phase: number;
  m: number;
}

/** Frames [orientations, 3, n, n] (float32) of one random sparse object under each pattern. */
export function noiseFreeCycle(g: ImageGrid, table: OtfTable, truth: readonly PatternTruth[], seed = 3): Tensor {
  const { height: h, width: w } = g;
  return tidy(() => {
    const obj = rand([h, w], { seed, device: DEVICE }).pow(4).mul(50);
    const otf = otf2d(table, g, 'fft', { device: DEVICE });
    const ys = Float64Array.from({ length: h }, (_, i) => (i - h / 2) * g.pixelSizeUm);
    const xs = Float64Array.from({ length: w }, (_, i) => (i - w / 2) * g.pixelSizeUm);
    return stack(
      truth.flatMap((t) =>
        [0, 1, 2].map((j) => {
          const pat = new Float32Array(h * w);
          for (let y = 0; y < h; y++)
            for (let x = 0; x < w; x++) {
              const arg = 2 * Math.PI * (t.kx * (xs[x] as number) + t.ky * (ys[y] as number));
              pat[y * w + x] = 1 + t.m * Math.cos(arg + t.phase + (j * 2 * Math.PI) / 3);
            }
          const lit = obj.mul(tensor(pat, [h, w], { device: DEVICE }));
          return fft.ifft2(fft.fft2(lit).mul(otf)).real().add(100);
        }),
      ),
    ).reshape([truth.length, 3, h, w]);
  });
}
