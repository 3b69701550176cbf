// `rdl train sr`: the SR inference module (DFCAN) on (9 raw frames → 2× SR target) pairs, with the
// reference's train_SR_Inference_Module.py semantics: each sample's frames min–max normalized
// together and its target on its own, then the batch normalized as a whole (prctile_norm), loss
// mse_ssim, Adam at 1e-4, batch 4, reduce-LR-on-plateau on the mean training loss (factor 0.5,
// patience 10, floor 0.1 × the start rate). Beyond the reference: patches of --patch px cut at
// random from larger samples, and validation on the central patch.
import { noGrad, tidy } from '../engine/index.js';
import { DFCAN, DFCAN_REFERENCE, DFCAN_SMALL } from '../models/dfcan.js';
import { mseSsim } from '../nn/losses.js';
import {
  centerCrop,
  concat,
  cropFrames,
  meanScores,
  minMaxInPlace,
  panelImage,
  randomCrop,
  type Scores,
  scoreImages,
  toDevice,
} from '../train/batch.js';
import { openDataset } from '../train/dataset.js';
import { PairLoader } from '../train/loader.js';
import type { TrainOptions } from '../train/options.js';
import type { PanelRow } from '../train/panels.js';
import { type TrainEvent, type TrainingTask, type TrainResult, train } from '../train/trainer.js';
import { COMMON_DEFAULTS, resumedOptions, startModel } from './train-common.js';

export const SR_DEFAULTS: TrainOptions = { ...COMMON_DEFAULTS, batchSize: 4, patience: 10 };

export interface TrainSrJob {
  data: string;
  outDir: string;
  options: TrainOptions;
  resume: boolean;
  onEvent?: (e: TrainEvent) => void;
  signal?: AbortSignal;
}

interface SrBatch {
  input: Float32Array;
  target: Float32Array;
  side: number;
  count: number;
}

export async function trainSr(job: TrainSrJob): Promise<TrainResult> {
  const o = job.resume ? resumedOptions(job.outDir, job.options) : job.options;
  const config = o.preset === 'small' ? DFCAN_SMALL : DFCAN_REFERENCE;
  const scale = config.scale;
  // Everything a user can get wrong is checked before the model folder is made.
  const data = openDataset(
    job.data,
    { inputFrames: config.inChannels, targetFrames: 1, scale },
    Math.max(o.patch ?? 0, 2 * config.apodize),
  );
  const model = await startModel(job.outDir, 'dfcan', config, o, job.resume);
  if (!(model instanceof DFCAN)) throw new Error('unreachable: not a DFCAN');
  const c = model.config;
  const loader = new PairLoader();
  const device = o.device;

  const task: TrainingTask<SrBatch> = {
    plateauMonitor: 'train-loss',
    prepare: async (_i, rng) => {
      // Samples with replacement, as the reference's np.random.choice; the crops drawn before any await.
      const picks = Array.from({ length: o.batchSize }, () => data.train[rng.int(0, data.train.length - 1)]!);
      const crops = picks.map((s) => randomCrop(s.width, s.height, o.patch, rng));
      const side = Math.min(...crops.map((k) => k.side));
      const loaded = await loader.load(picks.map((s) => s.pair));
      const inputs = loaded.map((l, b) =>
        minMaxInPlace(cropFrames(l.input, l.width, l.height, { ...crops[b]!, side })),
      );
      const targets = loaded.map((l, b) =>
        minMaxInPlace(cropFrames(l.target, l.width, l.height, { ...crops[b]!, side }, scale)),
      );
      return {
        input: minMaxInPlace(concat(inputs)),
        target: minMaxInPlace(concat(targets)),
        side,
        count: picks.length,
      };
    },
    loss: (b) => {
      const x = toDevice(b.input, [b.count, c.inChannels, b.side, b.side], device);
      const y = toDevice(b.target, [b.count, 1, b.side * scale, b.side * scale], device);
      return mseSsim(model.forward(x), y);
    },
    validate: async (n) => {
      const samples = data.val.slice(0, n);
      const scores: Scores[] = [];
      const panels: PanelRow[] = [];
      for (const s of samples) {
        const [l] = await loader.load([s.pair]);
        const crop = centerCrop(s.width, s.height, o.patch);
        const input = minMaxInPlace(cropFrames(l!.input, l!.width, l!.height, crop));
        const target = minMaxInPlace(cropFrames(l!.target, l!.width, l!.height, crop, scale));
        noGrad(() =>
          tidy(() => {
            const x = toDevice(input, [1, c.inChannels, crop.side, crop.side], device);
            const out = model.forward(x).reshape([1, crop.side * scale, crop.side * scale]);
            const gt = toDevice(target, [1, crop.side * scale, crop.side * scale], device);
            scores.push(...scoreImages(gt, out));
            if (panels.length < 3) {
              panels.push({
                input: panelImage(x.mean([1]).reshape([crop.side, crop.side])),
                output: panelImage(out.select(0, 0)),
                target: panelImage(gt.select(0, 0)),
                metrics: { ...scores.at(-1)! },
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
      model,
      options: o,
      minLr: o.minLr ?? o.lr * 0.1,
      training: {
        command: 'rdl train sr',
        data: data.root,
        normalization:
          'input: the 9 frames of each sample min–max normalized together, then the batch as a whole; target: each SR image min–max normalized, then the batch; output: sigmoid in [0, 1]',
      },
      resume: job.resume,
      title: `rdl train sr — ${job.outDir}`,
      onEvent: job.onEvent,
      signal: job.signal,
    },
    task,
  ).finally(() => model.dispose());
}
