// The model folder of a training run (README "The model folder"):
//   config.json          architecture + network config (what loadModelFolder reads) + the run's
//                        training block (options, normalization, optics, SR model …)
//   weights.safetensors  the best weights (lowest validation NRMSE): what --model, --sr-model and
//                        --init load
//   latest.safetensors   the weights of the last saved iteration
//   checkpoint.safetensors + checkpoint.json   Adam's moments; iteration, learning rate, plateau
//                        state, validation history, seed: what --resume needs
//   log.jsonl, samples/<iteration>.png, report.html
// Every file is written to a temporary name and renamed; checkpoint.json is written last and names
// its iteration, which latest.safetensors and checkpoint.safetensors carry in their metadata, so a
// run stopped between two writes is detected instead of resumed from mixed states.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Adam, loadSafetensors, saveSafetensors, type Tensor } from '../engine/index.js';
import { InputFileError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { CONFIG_FILE, currentConfig, WEIGHTS_FILE } from '../models/folder.js';
import { type AnyModel, architectureOf } from '../models/registry.js';
import type { PlateauState } from './plateau.js';

export const LATEST_FILE = 'latest.safetensors';
export const CHECKPOINT_TENSORS = 'checkpoint.safetensors';
export const CHECKPOINT_JSON = 'checkpoint.json';
export const LOG_FILE = 'log.jsonl';
export const SAMPLES_DIR = 'samples';
export const REPORT_FILE = 'report.html';

export interface ValidationRecord {
  iteration: number;
  mse: number;
  nrmse: number;
  psnr: number;
  ssim: number;
  /** Learning rate after this validation's plateau step. */
  lr: number;
}

export interface CheckpointState {
  /** Iterations done. */
  iteration: number;
  lr: number;
  adamStep: number;
  plateau: PlateauState;
  validation: ValidationRecord[];
  best: { iteration: number; nrmse: number } | null;
  /** Training losses since the last validation (the SR module's plateau monitors their mean). */
  lossWindow: number[];
  /** The host generator: derived from (seed, iteration) alone (train/rng.ts). */
  rng: { kind: 'per-iteration'; seed: number };
  /** The training options the run was started with. */
  options: object;
}

export function writeConfig(dir: string, model: AnyModel, training: object): void {
  const meta = {
    format: 'rdl-model',
    version: 1,
    architecture: architectureOf(model),
    config: currentConfig(model),
    parameters: model.parameterCount(),
    training,
  };
  writeFileAtomic(join(dir, CONFIG_FILE), [Buffer.from(`${JSON.stringify(meta, null, 2)}\n`)]);
}

export function saveWeights(dir: string, file: string, model: AnyModel, iteration: number): void {
  saveSafetensors(join(dir, file), model.stateDict(), {
    format: 'rdl-model',
    architecture: architectureOf(model),
    iteration: String(iteration),
  });
}

export function saveBest(dir: string, model: AnyModel, iteration: number): void {
  saveWeights(dir, WEIGHTS_FILE, model, iteration);
}

/** Latest weights, optimizer moments, then the state that names them. */
export function saveCheckpoint(dir: string, model: AnyModel, adam: Adam, state: CheckpointState): void {
  saveWeights(dir, LATEST_FILE, model, state.iteration);
  saveSafetensors(join(dir, CHECKPOINT_TENSORS), adam.state().tensors, { iteration: String(state.iteration) });
  writeFileAtomic(join(dir, CHECKPOINT_JSON), [Buffer.from(`${JSON.stringify(state, null, 2)}\n`)]);
}

/** Reads the checkpoint of <dir> and loads the latest weights and Adam's moments into model and adam. */
export function restoreCheckpoint(dir: string, model: AnyModel, adam: Adam): CheckpointState {
  const path = join(dir, CHECKPOINT_JSON);
  if (!existsSync(path)) {
    throw new InputFileError(dir, `--resume: no ${CHECKPOINT_JSON} here (not a training run's model folder)`);
  }
  let state: CheckpointState;
  try {
    state = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputFileError(path, `not valid JSON (${(err as Error).message})`);
  }
  const device = (model.parameters()[0] as Tensor).device;
  const weights = loadSafetensors(join(dir, LATEST_FILE), { device });
  const moments = loadSafetensors(join(dir, CHECKPOINT_TENSORS), { device });
  try {
    for (const [file, f] of [
      [LATEST_FILE, weights],
      [CHECKPOINT_TENSORS, moments],
    ] as const) {
      if (f.metadata.iteration !== String(state.iteration)) {
        throw new InputFileError(
          join(dir, file),
          `holds iteration ${f.metadata.iteration}, but ${CHECKPOINT_JSON} iteration ${state.iteration}: the run stopped while saving; start a new run`,
        );
      }
    }
    model.loadStateDict(weights.tensors, join(dir, LATEST_FILE));
    adam.loadState({ step: state.adamStep, lr: state.lr, tensors: moments.tensors });
  } finally {
    for (const t of [...Object.values(weights.tensors), ...Object.values(moments.tensors)]) t.dispose();
  }
  return state;
}

/** A new run's folder must be absent or empty: nothing of an earlier run is overwritten by accident. */
export function requireEmptyFolder(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new InputFileError(
      dir,
      'the model folder is not empty: pass --resume to continue the run in it, or choose a new folder',
    );
  }
}
