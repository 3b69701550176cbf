// The SR inference module alone: each SIM cycle (inChannels raw frames) → one super-resolved
// image, normalized as the reference's predict_rDL_Denoising.py does — the cycle's frames
// min–max normalized together before DFCAN, its output min–max normalized after.
import { noGrad, type Tensor, tensor, tidy } from '../engine/index.js';
import { ShapeError } from '../errors.js';
import type { StackData } from '../io/stack.js';
import type { DFCAN } from '../models/dfcan.js';

/** Added to the range by the reference's prctile_norm, so that a flat input does not divide by 0. */
const NORM_EPS = 1e-7;

/** (x − min) / (max − min + 1e-7) over the whole tensor. */
export function prctileNorm(x: Tensor): Tensor {
  return tidy(() => {
    const lo = x.min();
    return x.sub(lo).div(x.max().sub(lo).add(NORM_EPS));
  });
}

export interface SrResult {
  /** Row-major [cycle][y][x], each image in [0, 1]. */
  data: Float32Array;
  width: number;
  height: number;
  cycles: number;
}

/**
 * Runs DFCAN on every cycle of a raw stack ([frame][y][x], frames a multiple of the model's
 * input channels). onCycle reports progress.
 */
export function predictSr(
  model: DFCAN,
  raw: { data: StackData; width: number; height: number; frames: number },
  onCycle: (done: number, total: number) => void = () => {},
): SrResult {
  const per = model.config.inChannels;
  if (raw.frames % per !== 0 || raw.frames === 0) {
    throw new ShapeError(`the raw stack has ${raw.frames} frames; expected a multiple of ${per} (one SIM cycle each)`);
  }
  if ((raw.data as { length: number }).length !== raw.frames * raw.width * raw.height) {
    throw new ShapeError('predict sr takes real-valued raw frames (not complex data)');
  }
  const cycles = raw.frames / per;
  const s = model.config.scale;
  const width = raw.width * s;
  const height = raw.height * s;
  const out = new Float32Array(cycles * width * height);
  const device = (model.parameters()[0] as Tensor).device;
  const frameSize = raw.width * raw.height;
  model.eval();
  for (let c = 0; c < cycles; c++) {
    const slice = Float32Array.from(
      (raw.data as ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> }).subarray(
        c * per * frameSize,
        (c + 1) * per * frameSize,
      ),
    );
    const sr = noGrad(() =>
      tidy(() => {
        const x = prctileNorm(tensor(slice, [1, per, raw.height, raw.width], { device }));
        return prctileNorm(model.forward(x)).toFloat32Array();
      }),
    );
    out.set(sr.subarray(0, width * height), c * width * height);
    onCycle(c + 1, cycles);
  }
  return { data: out, width, height, cycles };
}
