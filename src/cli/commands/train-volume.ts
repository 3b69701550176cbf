// `rdl train tis <data…> -o <model-dir>` and `rdl train sis <data…> -o <model-dir>`: TiS-/SiS-rDL
// light-sheet denoisers (RCAN3D), registered under the `train` command; parsing and progress only,
// the job is src/pipelines/train-volume.ts.
import type { Command } from 'commander';
import { ParameterError } from '../../errors.js';
import {
  trainVolume,
  VOLUME_DEFAULTS,
  VOLUME_TRAIN_OPTIONS,
  type VolumeTrainOptions,
} from '../../pipelines/train-volume.js';
import type { VolumeMode } from '../../pipelines/volume-data.js';
import { applyGlobalOptions, integerOption } from '../options.js';
import { addTrainingOptions, runTraining, trainingOptions } from './train.js';

/** "Z,Y,X" → [z, y, x] (integers ≥ min). */
export function parseTriple(option: string, v: string, min = 1): [number, number, number] {
  const p = v.split(',').map((s) => Number(s.trim()));
  if (p.length !== 3 || !p.every((n) => Number.isInteger(n) && n >= min)) {
    throw new ParameterError(option, `Z,Y,X: three integers ≥ ${min}, e.g. 16,64,64`, v);
  }
  return p as [number, number, number];
}

const DATA_HELP =
  '<data> is a folder in the reference layout (train/, val/ of prepared samples) or one or more raw stacks (TIFF/MRC ZYX volumes, TZYX ImageJ hyperstacks, or a folder of one volume per time point); from raw stacks random patches are cut, the last 15% of rows held out for validation';

function register(trainCmd: Command, program: Command, mode: VolumeMode): void {
  const cmd = trainCmd
    .command(`${mode} <data...>`)
    .description(
      mode === 'tis'
        ? `train TiS-rDL (RCAN3D, self-supervised on time-lapses): even time points in, odd ones as the target, MSE; ${DATA_HELP}`
        : `train SiS-rDL (RCAN3D, self-supervised on single volumes): even slices in, odd slices as the target, mse_gar; ${DATA_HELP}`,
    );
  if (mode === 'tis') cmd.option('--channels <n>', 'time points per input (the network channels)', '4');
  cmd
    .option('--nsm', 'RCAN3D-NSM (with the noise suppression module)')
    .option('--background <counts>', `camera offset subtracted first (default ${VOLUME_DEFAULTS.background})`)
    .option('--slices <n>', 'pages per volume of stacks without ImageJ axes (default: the whole stack is one volume)');
  addTrainingOptions(
    cmd,
    VOLUME_DEFAULTS,
    `network input patch Z,Y,X (default ${VOLUME_DEFAULTS.patch3d.join(',')}; SiS cuts 2Z slices, TiS 2C time points)`,
  ).action(async (data: string[]) => {
    applyGlobalOptions(program);
    const o = cmd.opts<{ output: string; resume?: boolean; channels?: string; nsm?: boolean }>();
    const options = trainingOptions<VolumeTrainOptions>(cmd, VOLUME_DEFAULTS, VOLUME_TRAIN_OPTIONS, {
      patch: ['patch3d', (v) => parseTriple('--patch', v)],
      background: ['background', Number],
      slices: ['slices', Number],
    });
    const channels = mode === 'tis' ? integerOption('--channels', o.channels ?? '4', 1) : 1;
    await runTraining(({ onEvent, signal }) =>
      trainVolume({
        mode,
        data,
        outDir: o.output,
        options,
        channels,
        nsm: o.nsm === true,
        resume: o.resume === true,
        onEvent,
        signal,
      }),
    );
  });
}

export function registerTrainVolume(program: Command): void {
  const trainCmd = program.commands.find((c) => c.name() === 'train');
  if (trainCmd === undefined) throw new Error('registerTrainVolume: the train command is not registered yet');
  register(trainCmd, program, 'tis');
  register(trainCmd, program, 'sis');
}
