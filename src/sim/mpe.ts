// Pattern-modulated images, "MPE" (reference: the MPE block of train_rDL_Denoising_Module.py and
// predict_rDL_Denoising.py): for each orientation d and phase j,
//   MPE_{d,j} = |IFFT(FFT(pattern_{d,j} · SR) · OTF)|
// i.e. the SR estimate seen through the illumination pattern and the detection OTF, what the raw
// frame would look like without noise. One orientation at a time into the output (a 2048² stack's
// 9 complex spectra would be 300 MB, and each step's copies as much again): the same values as the
// whole stack at once.
import { fft, memory, type Tensor, tensor, tidy, zeros } from '../engine/index.js';
import { ShapeError } from '../errors.js';
import type { ImageGrid } from './grid.js';
import { type OtfTable, otf2d, type TensorOptions } from './otf.js';
import { minMaxNormalize, type PatternParams } from './pattern.js';

/**
 * How the 9 frames are normalised: 'joint' = min–max over all frames together (the reference's
 * training script), 'per-frame' = each frame on its own (its predict script), 'none' = raw MPE.
 */
export type MpeNormalization = 'joint' | 'per-frame' | 'none';

export interface MpeOptions extends TensorOptions {
  normalization?: MpeNormalization;
}

/**
 * MPE stack [orientations, phases, y, x] from an SR estimate already on the raw grid [y, x]
 * (see srToRawGrid), the orientations' k0 and phase, and the OTF table for this grid.
 */
export function generateMpe(
  sr: Tensor,
  orients: readonly PatternParams[],
  phases: number,
  table: OtfTable,
  pixelSizeUm: number,
  o: MpeOptions = {},
): Tensor {
  if (sr.rank !== 2) throw new ShapeError(`the SR estimate must be 2D [y, x], found shape [${sr.shape}]`);
  const grid: ImageGrid = { height: sr.dim(0), width: sr.dim(1), pixelSizeUm };
  const opts = { dtype: o.dtype ?? 'float32', device: o.device ?? sr.device };
  const base = memory().liveBytes;
  mpePeak = 0;
  const probe = () => {
    mpePeak = Math.max(mpePeak, memory().liveBytes - base);
  };
  return tidy(() => {
    const out = zeros([orients.length, phases, grid.height, grid.width], opts);
    const object = sr.to(opts);
    const otf = otf2d(table, grid, 'fft', opts); // FFT order: no shifts needed around it
    const { xs, ys } = axes(grid, opts.device);
    orients.forEach((p, d) => {
      tidy(() => {
        // One orientation's phases in one batch: the engine shares a batch of transforms between its threads.
        const lit = zeros([phases, grid.height, grid.width], opts);
        for (let j = 0; j < phases; j++) {
          tidy(() => {
            lit.select(0, j).copy_(patternFrame(xs, ys, p, j, phases, opts.dtype).mul(object));
          });
        }
        const spectrum = fft.fft2(lit);
        lit.dispose();
        spectrum.mul_(otf);
        const image = fft.ifft2(spectrum);
        probe();
        spectrum.dispose();
        out.select(0, d).copy_(image.abs());
      });
    });
    probe();
    const norm = o.normalization ?? 'joint';
    if (norm !== 'none') {
      tidy(() => {
        const dims = norm === 'joint' ? undefined : [2, 3];
        // minMaxNormalize's arithmetic, in place: (v − lo)/(hi − lo + 1e-7).
        const lo = dims === undefined ? out.min() : out.min(dims, true);
        const hi = dims === undefined ? out.max() : out.max(dims, true);
        out.add_(lo, -1).div_(hi.sub(lo).add(1e-7));
      });
    }
    return out;
  });
}

/** Live tensor bytes over the last generateMpe (the engine's count, at its steps), for tests that pin its memory. */
let mpePeak = 0;
export function lastMpePeakBytes(): number {
  return mpePeak;
}

/** Sample positions (µm from the grid's centre pixel) as [1, W] and [H, 1] float64 tensors. Created in the caller's scope. */
function axes(g: ImageGrid, device: TensorOptions['device']): { xs: Tensor; ys: Tensor } {
  const x = new Float64Array(g.width);
  const y = new Float64Array(g.height);
  for (let i = 0; i < g.width; i++) x[i] = (i - g.width / 2) * g.pixelSizeUm;
  for (let i = 0; i < g.height; i++) y[i] = (i - g.height / 2) * g.pixelSizeUm;
  return {
    xs: tensor(x, [1, g.width], { dtype: 'float64', device }),
    ys: tensor(y, [g.height, 1], { dtype: 'float64', device }),
  };
}

/**
 * Frame j of one orientation's patterns, exactly as pattern.ts patterns() makes it (the same
 * operations on the same float64 values; the positions broadcast instead of a meshgrid):
 * 2 + 2cos(2πk0·r + φ0 + j·2π/P), min–max normalised, in dtype.
 */
function patternFrame(
  xs: Tensor,
  ys: Tensor,
  p: PatternParams,
  j: number,
  phases: number,
  dtype: NonNullable<TensorOptions['dtype']>,
): Tensor {
  return tidy(() => {
    const arg = xs.mul(2 * Math.PI * p.k0PerUm[0]).add(ys.mul(2 * Math.PI * p.k0PerUm[1]));
    const raw = arg
      .add(p.phaseRad + (j * 2 * Math.PI) / phases)
      .cos()
      .mul(2)
      .add(2);
    return minMaxNormalize(raw).to(dtype);
  });
}
