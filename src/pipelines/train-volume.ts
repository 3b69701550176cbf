// `rdl train tis` and `rdl train sis`: TiS-/SiS-rDL, RCAN3D (or RCAN3D-NSM) trained
// self-supervised on light-sheet volumes, with the reference's train_rDL_TiS_Model.py and
// train_rDL_SiS_Model.py semantics (ALGORITHMS.md §6–7b):
// - TiS: 2C consecutive time points of a patch; the even ones (C channels) in, the odd ones as the
//   target; MSE.
// - SiS: 2Z consecutive slices; the even ones in, the odd ones as the target; mse_gar, whose GAR
//   term is the network's own output on the whole 2Z-slice patch (a frozen copy of the current
//   weights: run without gradients): gar = f(full)[odd] − f(full)[even].
// Adam 1e-4, batch 3, plateau on the mean training loss (factor 0.5, patience 10, floor
// max(0.05 × lr, 1e-6)), as the reference. Beyond it: raw acquisitions as data (volume-data.ts),
// per-stack percentile normalization instead of /65535, a self-supervised validation loss with the
// best weights kept, and the trainer's checkpoints, resume, progress and report.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { noGrad, setDefaultDevice, type Tensor, tensor, tidy } from '../engine/index.js';
import { InputFileError, ParameterError } from '../errors.js';
import { CONFIG_FILE, loadModelOfKind } from '../models/folder.js';
import { RCAN3D, RCAN3D_NSM_REFERENCE, RCAN3D_REFERENCE, RCAN3D_SMALL, type Rcan3dConfig } from '../models/rcan3d.js';
import { createModel } from '../models/registry.js';
import { mse, mseGar, ssim } from '../nn/losses.js';
import { Rng } from '../sim/simulate/random.js';
import { panelImage } from '../train/batch.js';
import { requireEmptyFolder } from '../train/checkpoint.js';
import { TRAIN_OPTIONS, type TrainOptions } from '../train/options.js';
import type { PanelRow } from '../train/panels.js';
import { type TrainEvent, type TrainingTask, type TrainResult, train } from '../train/trainer.js';
import { forwardAveraged } from './tiles3d.js';
import { COMMON_DEFAULTS, resumedOptions } from './train-common.js';
import {
  cutPatch,
  openVolumeData,
  type Patch3d,
  type PatchAt,
  randomPatch,
  randomPatchAt,
  type VolumeMode,
  type VolumePatch,
} from './volume-data.js';

/** The training options of the light-sheet jobs: the shared ones plus the 3-D patch and the background. */
export const VOLUME_TRAIN_OPTIONS = TRAIN_OPTIONS.extend({
  /** The network's input patch, voxels [z, y, x] (SiS cuts 2z slices, TiS 2C time points of z slices). */
  patch3d: z.tuple([z.number().int().min(1), z.number().int().min(4), z.number().int().min(4)]),
  /** Camera offset subtracted before normalization, counts. */
  background: z.number().min(0),
  /** Pages per volume of stacks without ImageJ axes (null: from the file). */
  slices: z.number().int().min(1).nullable(),
});
export type VolumeTrainOptions = z.infer<typeof VOLUME_TRAIN_OPTIONS>;

/** The reference scripts' defaults (both the same): 64×64×16 patches, batch 3, 50,000 iterations. */
export const VOLUME_DEFAULTS: VolumeTrainOptions = {
  ...COMMON_DEFAULTS,
  iterations: 50_000,
  batchSize: 3,
  patience: 10,
  patch: null,
  validateEvery: 1000,
  validateNum: 8,
  patch3d: [16, 64, 64],
  background: 100,
  slices: null,
};

export interface TrainVolumeJob {
  mode: VolumeMode;
  data: string[];
  outDir: string;
  options: VolumeTrainOptions;
  /** TiS: time points per input (the network's channels); SiS: 1. */
  channels: number;
  nsm: boolean;
  resume: boolean;
  onEvent?: (e: TrainEvent) => void;
  signal?: AbortSignal;
}

interface VolumeBatch {
  input: Float32Array;
  target: Float32Array;
  full: Float32Array | null;
  count: number;
}

/** The network's configuration for a run. */
export function volumeModelConfig(preset: TrainOptions['preset'], channels: number, nsm: boolean): Rcan3dConfig {
  const base = preset === 'small' ? RCAN3D_SMALL : RCAN3D_REFERENCE;
  return { ...base, channels, nsm: nsm ? RCAN3D_NSM_REFERENCE : null };
}

async function startVolumeModel(job: TrainVolumeJob, o: VolumeTrainOptions, config: Rcan3dConfig): Promise<RCAN3D> {
  setDefaultDevice(o.device);
  if (job.resume) {
    const meta = JSON.parse(readFileSync(join(job.outDir, CONFIG_FILE), 'utf8')) as {
      architecture: string;
      config: Rcan3dConfig;
      training?: { mode?: string };
    };
    if (meta.architecture !== 'rcan3d' || meta.training?.mode !== job.mode) {
      throw new InputFileError(
        job.outDir,
        `holds a ${meta.training?.mode ?? meta.architecture} training run, not ${job.mode}`,
      );
    }
    return createModel('rcan3d', meta.config, { seed: o.seed }) as RCAN3D;
  }
  requireEmptyFolder(job.outDir);
  if (o.init !== null) {
    const m = await loadModelOfKind(o.init, 'rcan3d', '--init');
    if (!(m instanceof RCAN3D) || m.config.channels !== config.channels) {
      const found = (m as RCAN3D).config?.channels;
      m.dispose();
      throw new InputFileError(o.init, `--init: a ${found}-channel RCAN3D; this run needs ${config.channels} channels`);
    }
    return m;
  }
  return createModel('rcan3d', config, { seed: o.seed }) as RCAN3D;
}

/** The network's output difference between odd and even slices of the full stack (no gradients). */
export function garTerm(model: { forward(x: Tensor): Tensor }, full: Tensor): Tensor {
  return noGrad(() =>
    tidy(() => {
      const f = model.forward(full);
      return f.slice(2, 1, null, 2).sub(f.slice(2, 0, null, 2));
    }),
  );
}

export async function trainVolume(job: TrainVolumeJob): Promise<TrainResult> {
  const o = job.resume ? (resumedOptions(job.outDir, job.options) as VolumeTrainOptions) : job.options;
  const mode = job.mode;
  if (mode === 'sis' && job.channels !== 1) throw new ParameterError('--channels', '1 for SiS', job.channels);
  if (!Number.isInteger(job.channels) || job.channels < 1) {
    throw new ParameterError('--channels', 'a positive integer', job.channels);
  }
  const patch: Patch3d = { z: o.patch3d[0], y: o.patch3d[1], x: o.patch3d[2] };
  // Everything a user can get wrong is checked before the model folder is made.
  const data = openVolumeData(job.data, mode, patch, job.channels, { background: o.background, slices: o.slices });
  const model = await startVolumeModel(job, o, volumeModelConfig(o.preset, job.channels, job.nsm));
  const c = model.config.channels;
  const device = o.device;
  const shape = (n: number, zs: number) => [n, c, zs, patch.y, patch.x];

  // Validation patches: fixed positions in the held-out part, drawn once.
  const vr = new Rng(o.seed + 7919);
  const valAt: PatchAt[] = Array.from({ length: o.validateNum }, (_, i) =>
    randomPatchAt(data.val[i % data.val.length]!, mode, patch, c, vr),
  );

  const task: TrainingTask<VolumeBatch> = {
    plateauMonitor: 'train-loss',
    prepare: async (_i, rng) => {
      const ps: VolumePatch[] = Array.from({ length: o.batchSize }, () => randomPatch(data, mode, patch, c, rng));
      const cat = (k: 'input' | 'target' | 'full') => {
        const parts = ps.map((p) => p[k]!);
        const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
          out.set(p, at);
          at += p.length;
        }
        return out;
      };
      return {
        input: cat('input'),
        target: cat('target'),
        full: mode === 'sis' ? cat('full') : null,
        count: ps.length,
      };
    },
    loss: (b) => {
      const x = tensor(b.input, shape(b.count, patch.z), { device });
      const y = tensor(b.target, shape(b.count, patch.z), { device });
      if (mode === 'tis') return mse(model.forward(x), y);
      const gar = garTerm(model, tensor(b.full!, shape(b.count, 2 * patch.z), { device }));
      return mseGar(model.forward(x), y, gar);
    },
    validate: async (n) => {
      let se = 0;
      let energy = 0;
      let peak = 0;
      let ssimSum = 0;
      let count = 0;
      const panels: PanelRow[] = [];
      for (const at of valAt.slice(0, n)) {
        const p = cutPatch(at, mode, patch, c);
        tidy(() => {
          const x = tensor(p.input, shape(1, patch.z), { device });
          const y = tensor(p.target, shape(1, patch.z), { device });
          const out = forwardAveraged((v) => model.forward(v), x, [[]]);
          const m = out.sub(y).square().mean().item();
          const e = y.square().mean().item();
          const mx = Math.max(1e-6, y.max().item());
          const s = patch.y >= 11 && patch.x >= 11 ? ssim(y.div(mx), out.div(mx)).item() : Number.NaN;
          se += m;
          energy += e;
          peak = Math.max(peak, mx);
          ssimSum += s;
          count++;
          if (panels.length < 3) {
            const mid = Math.floor(patch.z / 2);
            const plane = (t: Tensor) => panelImage(t.select(0, 0).select(0, 0).select(0, mid));
            panels.push({
              input: plane(x),
              output: plane(out),
              target: plane(y),
              metrics: {
                psnr: 10 * Math.log10((mx * mx) / Math.max(m, 1e-12)),
                ssim: s,
                nrmse: Math.sqrt(m / Math.max(e, 1e-12)),
              },
            });
          }
        });
      }
      const m = se / Math.max(1, count);
      return {
        mse: m,
        nrmse: Math.sqrt(se / Math.max(energy, 1e-12)),
        psnr: 10 * Math.log10((peak * peak) / Math.max(m, 1e-12)),
        ssim: ssimSum / Math.max(1, count),
        panels,
      };
    },
    close: async () => {},
  };

  return train(
    {
      dir: job.outDir,
      model,
      options: o,
      minLr: o.minLr ?? Math.max(o.lr * 0.05, 1e-6),
      training: {
        command: `rdl train ${mode}`,
        mode,
        data: data.root,
        layout: data.layout,
        channels: c,
        nsm: job.nsm,
        normalization: `max(0, raw − ${o.background}) / (the stack's 99.9th percentile)`,
        interleaving:
          mode === 'sis'
            ? 'even slices in, odd slices as the target; loss mse_gar with the GAR term from the network on all slices'
            : `${c} even time points in (channels), the ${c} odd ones as the target; loss mse`,
        validation:
          data.layout === 'raw'
            ? 'self-supervised (prediction against the held-out odd slices/time points) on the last 15% of rows'
            : 'self-supervised, on val/',
      },
      resume: job.resume,
      title: `rdl train ${mode} — ${job.outDir}`,
      onEvent: job.onEvent,
      signal: job.signal,
    },
    task,
  ).finally(() => model.dispose());
}

/** Whether a model folder was trained as TiS or SiS (from config.json's training block); null if unknown. */
export function trainedMode(dir: string): VolumeMode | null {
  try {
    const meta = JSON.parse(readFileSync(join(dir, CONFIG_FILE), 'utf8')) as { training?: { mode?: string } };
    const m = meta.training?.mode;
    return m === 'tis' || m === 'sis' ? m : null;
  } catch {
    return null;
  }
}
