// `rdl prepare sr|dn <acquisitions> -o <data>`: training data from your own acquisitions (BioSR-
// arranged cells or a mapping file) in the layout `rdl train sr|denoise` reads. Parsing and the
// summary only; the job is src/pipelines/prepare.ts.
import type { Command } from 'commander';
import { ParameterError } from '../../errors.js';
import { formatSummary, prepareDataset } from '../../pipelines/prepare.js';
import { type PrepareTask, parseLevels } from '../../pipelines/prepare-cells.js';
import type { FrameOrder } from '../../sim/params.js';
import { integerOption } from '../options.js';

interface PrepareCliOptions {
  output: string;
  patch: string;
  count: string;
  valFraction: string;
  seed: string;
  levels: string;
  minForeground: string;
  augment: boolean;
  frameOrder: string;
  skipBad?: boolean;
  json?: boolean;
}

function fraction(name: string, v: string): number {
  const n = Number(v);
  if (!(v.trim() !== '' && Number.isFinite(n) && n >= 0 && n < 1))
    throw new ParameterError(name, 'a fraction in [0, 1)', v);
  return n;
}

const ARRANGEMENT =
  '<acquisitions>: a folder of cells in the BioSR arrangement (each cell a folder with RawSIMData_level_NN.mrc, RawSIMData_gt.mrc, SIM_gt.mrc; .tif too), or a mapping .json file';

export function registerPrepare(program: Command): void {
  const prepare = program
    .command('prepare')
    .description('turn acquisitions (BioSR-arranged cells) into the training layout of rdl train sr|denoise');
  const add = (task: PrepareTask, description: string) => {
    const cmd = prepare
      .command(`${task} <acquisitions>`)
      .description(`${description}; ${ARRANGEMENT}`)
      .requiredOption('-o, --output <dir>', 'the training data folder to write (new or empty)')
      .option('--patch <px>', `raw patch side, px${task === 'sr' ? ' (the SR target is twice this)' : ''}`, '128')
      .option('--count <n>', 'samples in all, train and val together', '1000')
      .option('--val-fraction <f>', 'fraction of the cells held out for validation (whole cells; at least one)', '0.1')
      .option('--seed <n>', 'random seed: split, crops, augmentations (same seed, same files)', '1')
      .option(
        '--levels <list>',
        `noise levels used as inputs: all, or numbers and ranges (1-3,5)${task === 'sr' ? '; gt adds the high-SNR raw cycle' : ''}`,
        'all',
      )
      .option(
        '--min-foreground <f>',
        `background rule: a patch is kept when at least this fraction of its target pixels (${task === 'sr' ? 'SIM_gt' : 'the widefield of RawSIMData_gt'}) are structure (above 20% of the way from the cell's 1st to its 99.9th percentile); 0 keeps all`,
        '0.01',
      )
      .option(
        '--no-augment',
        task === 'sr'
          ? 'no rotations or flips (default: one of the 8 symmetries of the square per sample)'
          : 'no 180° rotation (default: half the samples rotated by 180°, phases reordered; see README)',
      )
      .option(
        '--frame-order <order>',
        'frame order of the raw cycles: orientation-major (BioSR, the reference) | phase-major',
        'orientation-major',
      )
      .option('--skip-bad', 'report bad cells (missing GT, wrong frame count, mismatched sizes) and prepare the rest')
      .option('--json', 'print the summary as JSON')
      .action((acquisitions: string) => {
        const o = cmd.opts<PrepareCliOptions>();
        const valFraction = fraction('--val-fraction', o.valFraction);
        if (valFraction === 0) throw new ParameterError('--val-fraction', 'a fraction in (0, 1)', o.valFraction);
        const summary = prepareDataset({
          task,
          acquisitions,
          outDir: o.output,
          patch: integerOption('--patch', o.patch, 16),
          count: integerOption('--count', o.count, 2),
          valFraction,
          seed: integerOption('--seed', o.seed, 0),
          levels: parseLevels(o.levels, task),
          minForeground: fraction('--min-foreground', o.minForeground),
          augment: o.augment,
          frameOrder: o.frameOrder as FrameOrder,
          skipBad: o.skipBad === true,
          onProgress: (d, n) => {
            if (process.stderr.isTTY) process.stderr.write(`\rrdl prepare: ${d}/${n}${d === n ? '\n' : ''}`);
          },
        });
        process.stdout.write(o.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
      });
  };
  add('sr', 'pair noisy raw patches (9 frames) with SR target patches (2× the size) for rdl train sr');
  add('dn', 'pair noisy raw patches with high-SNR raw patches (9 frames, same size) for rdl train denoise');
}
