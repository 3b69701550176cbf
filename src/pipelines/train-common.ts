// What `rdl train sr` and `rdl train denoise` share around the trainer: the default options,
// starting (or resuming) a model, and the checks made before a model folder is created.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setDefaultDevice } from '../engine/index.js';
import { InputFileError } from '../errors.js';
import { CONFIG_FILE, loadModel } from '../models/folder.js';
import { type AnyModel, createModel } from '../models/registry.js';
import { CHECKPOINT_JSON, type CheckpointState, requireEmptyFolder } from '../train/checkpoint.js';
import type { TrainOptions } from '../train/options.js';

/** The reference's defaults shared by both rDL-SIM modules (their scripts differ in patience and batch). */
export const COMMON_DEFAULTS: Omit<TrainOptions, 'batchSize' | 'patience'> = {
  iterations: 100_000,
  timeLimitMinutes: null,
  patch: 128,
  lr: 1e-4,
  validateEvery: 2000,
  validateNum: 1000,
  preset: 'reference',
  seed: 0,
  device: 'cpu',
  init: null,
  lrFactor: 0.5,
  minDelta: 1e-4,
  minLr: null,
};

/**
 * For --resume: the options the run was started with (from its checkpoint), with only the
 * iteration count, time limit and device taken from this invocation.
 */
export function resumedOptions(dir: string, now: TrainOptions): TrainOptions {
  const path = join(dir, CHECKPOINT_JSON);
  if (!existsSync(path)) {
    throw new InputFileError(dir, `--resume: no ${CHECKPOINT_JSON} in this folder (nothing to resume)`);
  }
  let saved: CheckpointState;
  try {
    saved = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputFileError(path, `not valid JSON (${(err as Error).message})`);
  }
  return {
    ...(saved.options as TrainOptions),
    iterations: now.iterations,
    timeLimitMinutes: now.timeLimitMinutes,
    device: now.device,
  };
}

/** The network to train: a resumed run's architecture, weights from --init, or a new one. */
export async function startModel(
  dir: string,
  architecture: 'dfcan' | 'rdl-denoiser',
  config: object,
  o: TrainOptions,
  resume: boolean,
): Promise<AnyModel> {
  setDefaultDevice(o.device);
  if (resume) {
    const meta = JSON.parse(readFileSync(join(dir, CONFIG_FILE), 'utf8')) as { architecture: string; config: object };
    if (meta.architecture !== architecture) {
      throw new InputFileError(dir, `holds a ${meta.architecture} training run, not ${architecture}`);
    }
    return createModel(architecture, meta.config, { seed: o.seed });
  }
  requireEmptyFolder(dir);
  if (o.init !== null) return loadModel(o.init, { architecture, config });
  return createModel(architecture, config, { seed: o.seed });
}
