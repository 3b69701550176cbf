// Pattern-modulated images, "MPE" (reference: the MPE block of train_rDL_Denoising_Module.py and
// predict_rDL_Denoising.py): for each orientation d and phase j,
//   MPE_{d,j} = |IFFT(FFT(pattern_{d,j} · SR) · OTF)|
// i.e. the SR estimate seen through the illumination pattern and the detection OTF, what the raw
// frame would look like without noise.
import { fft, type Tensor, tidy } from '../engine/index.js';
import { ShapeError } from '../errors.js';
import type { ImageGrid } from './grid.js';
import { type OtfTable, otf2d, type TensorOptions } from './otf.js';
import { minMaxNormalize, type PatternParams, patterns } from './pattern.js';

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
  return tidy(() => {
    const pats = patterns(orients, phases, grid, opts);
    const otf = otf2d(table, grid, 'fft', opts); // FFT order: no shifts needed around it
    const spectra = fft.fft2(pats.mul(sr.to(opts)));
    const mpe = fft.ifft2(spectra.mul(otf)).abs();
    switch (o.normalization ?? 'joint') {
      case 'joint':
        return minMaxNormalize(mpe);
      case 'per-frame':
        return minMaxNormalize(mpe, [2, 3]);
      default:
        return mpe;
    }
  });
}
