// src/train/: the trainer every network shares. Start reading here: train() runs the loop —
// Adam, reduce-LR-on-plateau (plateau.ts), validation every N iterations with MSE, NRMSE, PSNR and
// SSIM (validate.ts), best weights on improved validation NRMSE, checkpoints and resume
// (checkpoint.ts), the JSON-lines log, sample panels (panels.ts) and the HTML report (report.ts).
// A network's pipeline (src/pipelines/train-*.ts) supplies a TrainingTask: how a batch is prepared
// and scored, and how validation runs. Data for iteration i + 1 is prepared while iteration i
// runs (prepare() starts reading files on loader.ts's thread before the step).
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Adam, engineInfo, getNumThreads, type Tensor, tidy } from '../engine/index.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { AnyModel } from '../models/registry.js';
import {
  type CheckpointState,
  LOG_FILE,
  REPORT_FILE,
  restoreCheckpoint,
  SAMPLES_DIR,
  saveBest,
  saveCheckpoint,
  type ValidationRecord,
  writeConfig,
} from './checkpoint.js';
import type { TrainOptions } from './options.js';
import { type PanelRow, writePanelPng } from './panels.js';
import { ReduceLrOnPlateau } from './plateau.js';
import { writeReport } from './report.js';
import { iterationRng, type Rng } from './rng.js';

export interface ValidationResult {
  mse: number;
  nrmse: number;
  psnr: number;
  ssim: number;
  /** Up to three samples for the panel. */
  panels: PanelRow[];
}

/** What a network's pipeline supplies to the trainer. B: one prepared batch. */
export interface TrainingTask<B> {
  /** Host-side preparation of iteration i's batch, deterministic from rng; may read files in the background. */
  prepare(iteration: number, rng: Rng): Promise<B>;
  /** The loss of a batch (a scalar with gradients); called inside tidy(). */
  loss(batch: B): Tensor;
  /** Scores the network on up to `samples` validation samples (eval mode, no gradients). */
  validate(samples: number): Promise<ValidationResult>;
  /** The plateau's monitor: the reference's SR script steps it on the mean training loss, the denoiser's on validation NRMSE. */
  readonly plateauMonitor: 'train-loss' | 'val-nrmse';
  close(): Promise<void>;
}

export type TrainEvent =
  | { kind: 'iteration'; iteration: number; total: number; loss: number; lr: number; itPerSec: number; etaS: number }
  | { kind: 'validation'; record: ValidationRecord; best: boolean }
  | { kind: 'message'; text: string };

export interface TrainRun {
  /** The model folder. */
  dir: string;
  model: AnyModel;
  options: TrainOptions;
  /** The learning rate floor already resolved (options.minLr or the module's rule). */
  minLr: number;
  /** The training block of config.json (normalization, optics, SR model, …) besides the options. */
  training: Record<string, unknown>;
  /** Continue the run in dir (its checkpoint) up to options.iterations. */
  resume: boolean;
  title: string;
  onEvent?: (e: TrainEvent) => void;
  /** Aborted (Ctrl-C): the run saves its checkpoint at the end of the current iteration and stops. */
  signal?: AbortSignal;
}

export interface TrainResult {
  status: 'finished' | 'time-limit' | 'interrupted';
  iteration: number;
  best: { iteration: number; nrmse: number } | null;
  dir: string;
}

/** Runs (or resumes) a training to options.iterations, a time limit or an abort, whichever comes first. */
export async function train<B>(run: TrainRun, task: TrainingTask<B>): Promise<TrainResult> {
  const { dir, model, options: o } = run;
  const emit = run.onEvent ?? (() => {});
  mkdirSync(join(dir, SAMPLES_DIR), { recursive: true });
  const adam = new Adam(model.parameters(), { lr: o.lr, epsStyle: 'keras', eps: 1e-7 });
  const plateau = new ReduceLrOnPlateau({
    factor: o.lrFactor,
    patience: o.patience,
    minDelta: o.minDelta,
    cooldown: 0,
    minLr: run.minLr,
  });
  let state: CheckpointState = {
    iteration: 0,
    lr: o.lr,
    adamStep: 0,
    plateau: plateau.state,
    validation: [],
    best: null,
    lossWindow: [],
    rng: { kind: 'per-iteration', seed: o.seed },
    options: o,
  };
  try {
    if (run.resume) {
      state = restoreCheckpoint(dir, model, adam);
      plateau.state = state.plateau;
      truncateLog(dir, state.iteration);
      emit({ kind: 'message', text: `resuming at iteration ${state.iteration} of ${o.iterations}` });
    } else {
      writeConfig(dir, model, { ...run.training, options: o });
    }
    const log = (entry: object) => appendFileSync(join(dir, LOG_FILE), `${JSON.stringify(entry)}\n`);
    const trainLosses = readTrainLosses(dir);
    const started = performance.now();
    const startIteration = state.iteration;
    let status: TrainResult['status'] = 'finished';

    const validate = async (scheduled: boolean) => {
      model.eval();
      const v = await task.validate(o.validateNum);
      model.train();
      const improved = state.best === null || v.nrmse < state.best.nrmse;
      if (improved) {
        state.best = { iteration: state.iteration, nrmse: v.nrmse };
        saveBest(dir, model, state.iteration);
      }
      // Only scheduled validations step the plateau, so that where a run stops does not change its course.
      if (scheduled) {
        const monitored =
          task.plateauMonitor === 'val-nrmse'
            ? v.nrmse
            : state.lossWindow.reduce((a, b) => a + b, 0) / Math.max(1, state.lossWindow.length);
        const lr = plateau.step(monitored, adam.lr);
        if (lr !== adam.lr)
          emit({ kind: 'message', text: `learning rate ${adam.lr.toExponential(2)} → ${lr.toExponential(2)}` });
        adam.lr = lr;
        state.lossWindow = [];
      }
      const record: ValidationRecord = {
        iteration: state.iteration,
        mse: v.mse,
        nrmse: v.nrmse,
        psnr: v.psnr,
        ssim: v.ssim,
        lr: adam.lr,
      };
      state.validation.push(record);
      log({ kind: 'validation', ...record, best: improved });
      const panel = join(dir, SAMPLES_DIR, `${state.iteration}.png`);
      if (v.panels.length > 0) await writePanelPng(panel, `iteration ${state.iteration}`, v.panels);
      emit({ kind: 'validation', record, best: improved });
      return v.panels.length > 0 ? panel : null;
    };
    const report = async (statusText: string, panel: string | null) => {
      await writeReport(join(dir, REPORT_FILE), {
        title: run.title,
        status: statusText,
        train: trainLosses,
        validation: state.validation,
        best: state.best,
        panelPng: panel,
        config: { ...run.training, options: o },
        machine: machine(),
      });
    };
    const checkpoint = () => {
      state.lr = adam.lr;
      state.adamStep = adam.stepCount;
      state.plateau = plateau.state;
      saveCheckpoint(dir, model, adam, state);
    };

    model.train();
    let next =
      state.iteration < o.iterations
        ? task.prepare(state.iteration + 1, iterationRng(o.seed, state.iteration + 1))
        : null;
    let lastPanel: string | null = null;
    while (next !== null) {
      const batch = await next;
      const i = state.iteration + 1;
      // Start the next batch's files before this step occupies the engine.
      next = i < o.iterations ? task.prepare(i + 1, iterationRng(o.seed, i + 1)) : null;
      const loss = tidy(() => {
        adam.zeroGrad();
        const l = task.loss(batch);
        l.backward();
        adam.step();
        return l.item();
      });
      state.iteration = i;
      state.lossWindow.push(loss);
      trainLosses.push({ iteration: i, loss });
      log({ kind: 'train', iteration: i, loss, lr: adam.lr });
      const elapsed = (performance.now() - started) / 1000;
      const rate = (i - startIteration) / Math.max(elapsed, 1e-9);
      emit({
        kind: 'iteration',
        iteration: i,
        total: o.iterations,
        loss,
        lr: adam.lr,
        itPerSec: rate,
        etaS: (o.iterations - i) / rate,
      });
      if (i % o.validateEvery === 0) {
        lastPanel = await validate(true);
        checkpoint();
        await report(`running: iteration ${i} of ${o.iterations}`, lastPanel);
      }
      // Let signals and timers in (a resolved batch alone would never yield to them).
      await new Promise((r) => setImmediate(r));
      if (run.signal?.aborted) status = 'interrupted';
      else if (o.timeLimitMinutes !== null && elapsed >= o.timeLimitMinutes * 60) status = 'time-limit';
      if (status !== 'finished') {
        next = null;
        break;
      }
    }
    // A finished or timed-out run ends validated, so that weights.safetensors exists and is the best
    // seen; an interrupted one only saves (Ctrl-C should be quick) and is validated when resumed.
    if (status !== 'interrupted' && state.validation.at(-1)?.iteration !== state.iteration) {
      lastPanel = await validate(false);
    }
    checkpoint();
    const statusText =
      status === 'finished'
        ? `finished: ${state.iteration} iterations`
        : status === 'time-limit'
          ? `stopped at the time limit after iteration ${state.iteration} of ${o.iterations}`
          : `interrupted after iteration ${state.iteration} of ${o.iterations}`;
    await report(statusText, lastPanel ?? latestPanel(dir, state));
    return { status, iteration: state.iteration, best: state.best, dir };
  } finally {
    adam.dispose();
    await task.close();
  }
}

/** Drops log entries beyond the checkpoint (a run that went on after its last save, then died). */
function truncateLog(dir: string, iteration: number): void {
  const path = join(dir, LOG_FILE);
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return;
  }
  const kept = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .filter((l) => {
      try {
        return (JSON.parse(l) as { iteration: number }).iteration <= iteration;
      } catch {
        return false;
      }
    });
  writeFileAtomic(path, [Buffer.from(kept.map((l) => `${l}\n`).join(''))]);
}

function readTrainLosses(dir: string): Array<{ iteration: number; loss: number }> {
  let text = '';
  try {
    text = readFileSync(join(dir, LOG_FILE), 'utf8');
  } catch {
    return [];
  }
  const out: Array<{ iteration: number; loss: number }> = [];
  for (const l of text.split('\n')) {
    if (!l.includes('"train"')) continue;
    const e = JSON.parse(l) as { iteration: number; loss: number };
    out.push({ iteration: e.iteration, loss: e.loss });
  }
  return out;
}

function latestPanel(dir: string, state: CheckpointState): string | null {
  const v = state.validation.at(-1);
  return v === undefined ? null : join(dir, SAMPLES_DIR, `${v.iteration}.png`);
}

function machine(): Record<string, string | number> {
  const info = engineInfo();
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    'memory (GB)': Math.round(totalmem() / 2 ** 30),
    'engine threads': getNumThreads(),
    libtorch: String((info as { torchVersion?: string }).torchVersion ?? ''),
    node: process.version,
  };
}
