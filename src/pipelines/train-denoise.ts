// `rdl train denoise`: the rDL denoising module, with the reference's train_rDL_Denoising_Module.py
// semantics. Per iteration and sample: the illumination fitted on the target (high-SNR) frames
// (on the input frames in validation, as the reference), its fallback rules applied; input and
// target each min–max normalized over their 9 frames; the frozen SR module's output on the input,
// min–max normalized and brought to the raw grid; the pattern-modulated images (MPE) from it, the
// fitted patterns and the OTF, normalized jointly; intensity equalization of input and target
// (each orientation scaled to orientation 0's mean); the three orientations as a batch of three
// (3 phases as channels), loss mse_ssim, Adam 1e-4, plateau on validation NRMSE (patience 15,
// floor max(0.1 × lr, 1e-5)).
// Beyond the reference: each sample's fit is made once, on the whole sample, and cached (the frames
// do not change); a patch cut from the sample gets the same pattern vector with its phase moved to
// the patch's own origin, φ' = φ + 2π k0·(patch centre − sample centre), so no small patch is refitted.
import { noGrad, stack, type Tensor, tensor, tidy } from '../engine/index.js';
import { ParameterError } from '../errors.js';
import { DENOISER_NSM_REFERENCE, DENOISER_REFERENCE, DENOISER_SMALL, RdlDenoiser } from '../models/denoiser.js';
import { DFCAN, DFCAN_REFERENCE } from '../models/dfcan.js';
import { loadModel } from '../models/folder.js';
import { mseSsim } from '../nn/losses.js';
import { equalizeIntensity } from '../sim/equalize.js';
import { estimateCycle } from '../sim/fit/estimate.js';
import { generateMpe } from '../sim/mpe.js';
import { type OtfTable, otfTableForGrid, type RadialOtf } from '../sim/otf.js';
import { frameIndex, type SimParameters } from '../sim/params.js';
import { type PatternParams, srToRawGrid } from '../sim/pattern.js';
import {
  type Crop,
  centerCrop,
  cropFrames,
  meanScores,
  minMaxInPlace,
  panelImage,
  randomCrop,
  type Scores,
  scoreImages,
} from '../train/batch.js';
import { type LoadedPair, openDataset, type SampleInfo } from '../train/dataset.js';
import { PairLoader } from '../train/loader.js';
import type { TrainOptions } from '../train/options.js';
import type { PanelRow } from '../train/panels.js';
import { type TrainEvent, type TrainingTask, type TrainResult, train } from '../train/trainer.js';
import { COMMON_DEFAULTS, resumedOptions, startModel } from './train-common.js';

/** The reference's denoiser script: batch 1 (one cycle = three orientations), validation on 500, patience 15. */
export const DENOISE_DEFAULTS: TrainOptions = { ...COMMON_DEFAULTS, batchSize: 1, patience: 15, validateNum: 500 };

export interface TrainDenoiseJob {
  data: string;
  outDir: string;
  options: TrainOptions;
  resume: boolean;
  /** The SR module: a model folder or a reference DFCAN .h5. */
  srModel: string;
  nsm: boolean;
  params: SimParameters;
  otf: RadialOtf;
  fit: 'robust' | 'reference';
  onEvent?: (e: TrainEvent) => void;
  signal?: AbortSignal;
}

/** One sample's patch, ready for the engine: raw frames in orientation-major order and its patterns. */
interface DenoiseSample {
  input: Float32Array;
  target: Float32Array;
  side: number;
  patterns: PatternParams[];
}

export async function trainDenoise(job: TrainDenoiseJob): Promise<TrainResult> {
  const o = job.resume ? resumedOptions(job.outDir, job.options) : job.options;
  const p = job.params;
  const D = p.orientations;
  const P = p.phases;
  const base = o.preset === 'small' ? DENOISER_SMALL : DENOISER_REFERENCE;
  const config = {
    ...base,
    channels: P,
    nsm: job.nsm
      ? { ...DENOISER_NSM_REFERENCE, pixelSizeUm: p.pixelSizeUm, ...(o.preset === 'small' ? { features: 8 } : {}) }
      : null,
  };
  const data = openDataset(job.data, { inputFrames: D * P, targetFrames: D * P, scale: 1 }, o.patch ?? 32);
  // The SR module is checked before anything is written, as every other input.
  const sr = await loadModel(job.srModel, { architecture: 'dfcan', config: DFCAN_REFERENCE });
  if (!(sr instanceof DFCAN) || sr.config.inChannels !== D * P) {
    sr.dispose();
    throw new ParameterError('--sr-model', `a DFCAN taking ${D * P} frames`, job.srModel);
  }
  let model: Awaited<ReturnType<typeof startModel>>;
  try {
    model = await startModel(job.outDir, 'rdl-denoiser', config, o, job.resume);
  } catch (err) {
    sr.dispose();
    throw err;
  }
  if (!(model instanceof RdlDenoiser)) throw new Error('unreachable: not a denoiser');
  const denoiser = model;
  sr.eval();
  const device = o.device;
  const loader = new PairLoader();
  const fits = new Map<string, PatternParams[]>();
  // OTF tables by grid size: whole samples (for the fit) and square patches (for the MPE).
  const tables = new Map<string, OtfTable>();
  const tableFor = (height: number, width = height) => {
    const key = `${height}×${width}`;
    let t = tables.get(key);
    if (t === undefined) {
      t = otfTableForGrid(job.otf, { height, width, pixelSizeUm: p.pixelSizeUm });
      tables.set(key, t);
    }
    return t;
  };

  /** The sample's fitted patterns (on its target frames in training, its input in validation), once. */
  const patternsOf = (s: SampleInfo, l: LoadedPair, on: 'target' | 'input'): PatternParams[] => {
    const key = `${on}:${s.pair.input.path}`;
    const cached = fits.get(key);
    if (cached !== undefined) return cached;
    const raw = orientationMajor(on === 'target' ? l.target : l.input, p, l.width * l.height);
    const est = tidy(() => {
      const frames = tensor(raw, [D, P, l.height, l.width]);
      return estimateCycle(frames, tableFor(l.height, l.width), p, { fit: job.fit });
    });
    const fitted = est.orientations.map((e) => ({ k0PerUm: e.k0PerUm, phaseRad: e.phaseRad }));
    fits.set(key, fitted);
    return fitted;
  };

  const patch = (s: SampleInfo, l: LoadedPair, c: Crop, on: 'target' | 'input'): DenoiseSample => {
    const whole = patternsOf(s, l, on);
    // Phase origin moves from the sample's centre to the patch's (both at pixel (H/2, W/2) of their grid).
    const dx = (c.x + c.side / 2 - l.width / 2) * p.pixelSizeUm;
    const dy = (c.y + c.side / 2 - l.height / 2) * p.pixelSizeUm;
    const patterns = whole.map((w) => ({
      k0PerUm: w.k0PerUm,
      phaseRad: w.phaseRad + 2 * Math.PI * (w.k0PerUm[0] * dx + w.k0PerUm[1] * dy),
    }));
    const plane = c.side * c.side;
    return {
      input: minMaxInPlace(orientationMajor(cropFrames(l.input, l.width, l.height, c), p, plane)),
      target: minMaxInPlace(orientationMajor(cropFrames(l.target, l.width, l.height, c), p, plane)),
      side: c.side,
      patterns,
    };
  };

  /** MPE, equalized input and target of one sample: [D, P, side, side] each, on the device. */
  const networkInputs = (s: DenoiseSample): { mpe: Tensor; input: Tensor; target: Tensor } =>
    noGrad(() =>
      tidy(() => {
        const n = s.side;
        const input = tensor(s.input, [D, P, n, n], { device });
        const target = tensor(s.target, [D, P, n, n], { device });
        // The SR module sees the cycle in the file's frame order, as it was trained.
        const srIn = tensor(fileOrder(s.input, p, n * n), [1, D * P, n, n], { device });
        const srOut = sr.forward(srIn).reshape([n * sr.config.scale, n * sr.config.scale]);
        const mpe = generateMpe(srToRawGrid(srOut, n, n), s.patterns, P, tableFor(n), p.pixelSizeUm, {
          normalization: 'joint',
        });
        return { mpe, input: equalizeIntensity(input).frames, target: equalizeIntensity(target).frames };
      }),
    );

  const task: TrainingTask<DenoiseSample[]> = {
    plateauMonitor: 'val-nrmse',
    prepare: async (_i, rng) => {
      const picks = Array.from({ length: o.batchSize }, () => data.train[rng.int(0, data.train.length - 1)]!);
      const crops = picks.map((s) => randomCrop(s.width, s.height, o.patch, rng));
      const side = Math.min(...crops.map((c) => c.side));
      const loaded = await loader.load(picks.map((s) => s.pair));
      return picks.map((s, b) => patch(s, loaded[b]!, { ...crops[b]!, side }, 'target'));
    },
    loss: (batch) => {
      const parts = batch.map(networkInputs);
      const cat3 = (k: 'mpe' | 'input' | 'target') =>
        parts.length === 1
          ? parts[0]![k]
          : stack(parts.map((q) => q[k])).reshape([-1, P, batch[0]!.side, batch[0]!.side]);
      return mseSsim(denoiser.forward(cat3('mpe'), cat3('input')), cat3('target'));
    },
    validate: async (n) => {
      const scores: Scores[] = [];
      const panels: PanelRow[] = [];
      for (const s of data.val.slice(0, n)) {
        const [l] = await loader.load([s.pair]);
        const smp = patch(s, l!, centerCrop(s.width, s.height, o.patch), 'input');
        noGrad(() =>
          tidy(() => {
            const x = networkInputs(smp);
            const side = smp.side;
            const out = denoiser.forward(x.mpe, x.input).reshape([D * P, side, side]);
            const gt = x.target.reshape([D * P, side, side]);
            const frameScores = scoreImages(gt, out);
            scores.push(...frameScores);
            if (panels.length < 3) {
              panels.push({
                input: panelImage(x.input.reshape([D * P, side, side]).select(0, 0)),
                output: panelImage(out.select(0, 0)),
                target: panelImage(gt.select(0, 0)),
                metrics: { ...frameScores[0]! },
              });
            }
          }),
        );
      }
      return { ...meanScores(scores), panels };
    },
    close: () => loader.close(),
  };

  return train(
    {
      dir: job.outDir,
      model: denoiser,
      options: o,
      minLr: o.minLr ?? Math.max(o.lr * 0.1, 1e-5),
      training: {
        command: 'rdl train denoise',
        data: data.root,
        srModel: job.srModel,
        simParameters: p,
        otf: job.otf.source,
        fit: job.fit,
        normalization:
          'input and target: min–max over the 9 frames, then each orientation scaled to orientation 0’s mean; MPE: min–max over its 9 frames; frames ordered orientation-major, 3 phases as channels',
      },
      resume: job.resume,
      title: `rdl train denoise — ${job.outDir}`,
      onEvent: job.onEvent,
      signal: job.signal,
    },
    task,
  ).finally(() => {
    denoiser.dispose();
    sr.dispose();
  });
}

/** The frames reordered from the file's order to orientation-major [d][j][y][x]. */
function orientationMajor(frames: Float32Array, p: SimParameters, plane: number): Float32Array {
  if (p.frameOrder === 'orientation-major') return frames;
  const out = new Float32Array(frames.length);
  for (let d = 0; d < p.orientations; d++) {
    for (let j = 0; j < p.phases; j++) {
      const from = frameIndex(p, d, j) * plane;
      out.set(frames.subarray(from, from + plane), (d * p.phases + j) * plane);
    }
  }
  return out;
}

/** Orientation-major frames back in the file's order. */
function fileOrder(frames: Float32Array, p: SimParameters, plane: number): Float32Array {
  if (p.frameOrder === 'orientation-major') return frames;
  const out = new Float32Array(frames.length);
  for (let d = 0; d < p.orientations; d++) {
    for (let j = 0; j < p.phases; j++) {
      const to = frameIndex(p, d, j) * plane;
      out.set(frames.subarray((d * p.phases + j) * plane, (d * p.phases + j + 1) * plane), to);
    }
  }
  return out;
}
