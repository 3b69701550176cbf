// `rdl train sr <data> -o <model-dir>` and `rdl train denoise <data> --sr-model <dir> -o <model-dir>`:
// parsing and progress only; the jobs are src/pipelines/train-sr.ts and train-denoise.ts.
import type { Command } from 'commander';
import type { z } from 'zod';
import { InterruptedError, ParameterError } from '../../errors.js';
import { DENOISE_DEFAULTS, trainDenoise } from '../../pipelines/train-denoise.js';
import { SR_DEFAULTS, trainSr } from '../../pipelines/train-sr.js';
import { kebab, readConfigFile, resolveOptions, TRAIN_OPTIONS, type TrainOptions } from '../../train/options.js';
import type { TrainEvent, TrainResult } from '../../train/trainer.js';
import { applyGlobalOptions } from '../options.js';
import { firstSampleFile, withPixelSize } from '../pixel-size.js';
import { TrainProgress } from '../progress.js';
import { addOpticsOptions, chooseOtf, type OpticsCliOptions, parametersFromOptions } from './estimate.js';

/** Option name → how its text becomes a value of TrainOptions. */
const PARSERS: Record<string, (v: string) => unknown> = {
  iterations: Number,
  timeLimit: Number,
  batchSize: Number,
  patch: (v) => (v === 'none' ? null : Number(v)),
  lr: Number,
  validateEvery: Number,
  validateNum: Number,
  preset: String,
  seed: Number,
  device: String,
  init: String,
  lrFactor: Number,
  patience: Number,
  minDelta: Number,
  minLr: Number,
};

export function addTrainingOptions(cmd: Command, d: TrainOptions, patchHelp?: string): Command {
  return cmd
    .requiredOption('-o, --output <dir>', 'model folder (new or empty; with --resume, the run to continue)')
    .option('--iterations <n>', `iterations in total (default ${d.iterations})`)
    .option('--time-limit <minutes>', 'stop after this many minutes, saving (whichever comes first)')
    .option('--batch-size <n>', `samples per iteration (default ${d.batchSize})`)
    .option('--patch <px>', patchHelp ?? `patch side cut at random from each sample, or "none" (default ${d.patch})`)
    .option('--lr <rate>', `start learning rate, Adam (default ${d.lr})`)
    .option('--validate-every <n>', `iterations between validations (default ${d.validateEvery})`)
    .option('--validate-num <n>', `validation samples used (default ${d.validateNum})`)
    .option(
      '--preset <name>',
      "network size: reference (the paper's) | small (CPU demos and tests) (default reference)",
    )
    .option('--seed <n>', `random seed: initial weights, samples and patches (default ${d.seed})`)
    .option('--device <device>', 'engine device: cpu | cuda | cuda:N (default cpu)')
    .option('--init <weights>', 'start from a model folder or a reference Keras .h5 (fine-tuning)')
    .option('--lr-factor <f>', `plateau: learning rate multiplier (default ${d.lrFactor})`)
    .option('--patience <n>', `plateau: validations without improvement before reducing (default ${d.patience})`)
    .option('--min-delta <d>', `plateau: smallest improvement that counts (default ${d.minDelta})`)
    .option('--min-lr <rate>', 'plateau: learning rate floor (default 0.1 × --lr)')
    .option('--config <file>', 'training options from a JSON or YAML file (flags override it)')
    .option('--resume', 'continue the run in the model folder up to --iterations');
}

/** The options: defaults < --config file < flags given on the command line. */
export function trainingOptions<T extends TrainOptions = TrainOptions>(
  cmd: Command,
  defaults: T,
  schema: z.ZodObject = TRAIN_OPTIONS,
  /** Option name → [field, parser]: other commands' own options (e.g. a 3-D --patch). */
  extra: Record<string, [string, (v: string) => unknown]> = {},
): T {
  const raw = cmd.opts<Record<string, string | undefined>>();
  const file = raw.config === undefined ? {} : readConfigFile(raw.config, schema);
  const cli: Record<string, unknown> = {};
  const parsers: Record<string, [string, (v: string) => unknown]> = {
    ...Object.fromEntries(
      Object.entries(PARSERS).map(([n, p]) => [n, [n === 'timeLimit' ? 'timeLimitMinutes' : n, p] as const]),
    ),
    ...extra,
  };
  for (const [name, [field, parse]] of Object.entries(parsers)) {
    if (cmd.getOptionValueSource(name) !== 'cli') continue;
    const value = parse(raw[name] as string);
    if (typeof value === 'number' && Number.isNaN(value))
      throw new ParameterError(`--${kebab(name)}`, 'a number', raw[name]);
    cli[field] = value;
  }
  return resolveOptions(schema, defaults, file, cli) as T;
}

/** Ctrl-C: the first stops the run after the current iteration (saving); a second exits at once. */
export function interruptible(): { signal: AbortSignal; release: () => void } {
  const ac = new AbortController();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130);
    process.stderr.write(
      '\nrdl: stopping after this iteration and saving the checkpoint (Ctrl-C again to quit at once)\n',
    );
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: ac.signal, release: () => process.off('SIGINT', onSigint) };
}

export function finish(r: TrainResult, command: string, progress: TrainProgress): void {
  progress.stop();
  const best =
    r.best === null
      ? 'no validation yet'
      : `best validation NRMSE ${r.best.nrmse.toFixed(4)} at iteration ${r.best.iteration}`;
  if (r.status === 'interrupted') {
    throw new InterruptedError(
      `interrupted after iteration ${r.iteration}; the checkpoint is saved in ${r.dir}. Resume with:\n  ${command} --resume`,
    );
  }
  const why =
    r.status === 'time-limit'
      ? `stopped at the time limit after iteration ${r.iteration}`
      : `finished ${r.iteration} iterations`;
  process.stderr.write(
    `${why}; ${best}\nmodel: ${r.dir}/weights.safetensors (best), latest.safetensors; report: ${r.dir}/report.html\n`,
  );
  if (r.status === 'time-limit') process.stderr.write(`continue with: ${command} --resume\n`);
}

/**
 * Runs a training job with a progress display and Ctrl-C handling (first: stop and save), then
 * reports how it ended; what every `rdl train …` command does around its job.
 */
export async function runTraining(
  job: (hooks: { onEvent: (e: TrainEvent) => void; signal: AbortSignal }) => Promise<TrainResult>,
): Promise<void> {
  const progress = new TrainProgress();
  const { signal, release } = interruptible();
  try {
    finish(await job({ onEvent: (e) => progress.handle(e), signal }), resumeCommand(), progress);
  } finally {
    progress.stop();
    release();
  }
}

/** The command line to repeat for --resume (without a --resume already there). */
export function resumeCommand(): string {
  return ['rdl', ...process.argv.slice(2).filter((a) => a !== '--resume')].join(' ');
}

interface DenoiseCliOptions extends Omit<OpticsCliOptions, 'preset'> {
  srModel: string;
  setup: string;
  nsm?: boolean;
  fit: string;
  output: string;
  resume?: boolean;
}

export function registerTrain(program: Command): void {
  const trainCmd = program.command('train').description('train the rDL-SIM networks on your data');
  const sr = trainCmd
    .command('sr <data>')
    .description(
      'train the SR inference module (DFCAN): 9 raw frames → 2× SR image; <data> holds train/, train_gt/, val/, val_gt/ (as `rdl simulate --layout sr` writes)',
    );
  addTrainingOptions(sr, SR_DEFAULTS).action(async (data: string) => {
    applyGlobalOptions(program);
    const o = sr.opts<{ output: string; resume?: boolean }>();
    const options = trainingOptions(sr, SR_DEFAULTS);
    await runTraining(({ onEvent, signal }) =>
      trainSr({
        data,
        outDir: o.output,
        options,
        resume: o.resume === true,
        onEvent,
        signal,
      }),
    );
  });

  const dn = trainCmd
    .command('denoise <data>')
    .description(
      'train the rDL denoising module: per iteration the illumination fit, the frozen SR module, MPE and the denoiser on the 3 orientations; <data> holds train/, train_gt/ (high-SNR raw), val/, val_gt/ (as `rdl simulate --layout dn` writes)',
    )
    .requiredOption(
      '--sr-model <path>',
      'the trained SR module: a model folder (rdl train sr) or a reference DFCAN .h5',
    )
    .option('--nsm', 'train the NSM variant (noise suppression module)');
  addOpticsOptions(dn, 'setup').option('--fit <mode>', 'illumination fit: robust | reference', 'robust');
  addTrainingOptions(dn, DENOISE_DEFAULTS).action(async (data: string) => {
    applyGlobalOptions(program);
    const o = dn.opts<DenoiseCliOptions>();
    if (o.fit !== 'robust' && o.fit !== 'reference') throw new ParameterError('--fit', 'robust | reference', o.fit);
    const fit = o.fit;
    const optics: OpticsCliOptions = { ...o, preset: o.setup };
    const resolved = parametersFromOptions(optics);
    const { fileFields } = resolved;
    // The pixel size by the one rule (src/cli/pixel-size.ts), from the first training input's header.
    const first = firstSampleFile(data);
    const params = withPixelSize('rdl train denoise', first, optics, resolved.params, fileFields);
    const otf = chooseOtf(optics, params, fileFields);
    const options = trainingOptions(dn, DENOISE_DEFAULTS);
    await runTraining(({ onEvent, signal }) =>
      trainDenoise({
        data,
        outDir: o.output,
        options,
        resume: o.resume === true,
        srModel: o.srModel,
        nsm: o.nsm === true,
        params,
        otf,
        fit,
        onEvent,
        signal,
      }),
    );
  });
}
