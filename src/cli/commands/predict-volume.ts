// `rdl predict volume <stack> --model <dir|.h5> -o <out>`: TiS-/SiS-rDL inference on light-sheet
// stacks, registered under the `predict` command; the job is src/pipelines/predict-volume.ts.
import type { Command } from 'commander';
import { ParameterError } from '../../errors.js';
import { predictVolume } from '../../pipelines/predict-volume.js';
import { FLIP_AVERAGING, type FlipAveraging } from '../../pipelines/tiles3d.js';
import { applyGlobalOptions, integerOption } from '../options.js';
import { parseTriple } from './train-volume.js';

interface VolumeCliOptions {
  model: string;
  output: string;
  background: string;
  slices?: string;
  tile: string;
  overlap?: string;
  flips: string;
  dtype: string;
  mode?: string;
  device: string;
}

export function registerPredictVolume(program: Command): void {
  const predict = program.commands.find((c) => c.name() === 'predict');
  if (predict === undefined) throw new Error('registerPredictVolume: the predict command is not registered yet');
  predict
    .command('volume <stack>')
    .description(
      'denoise a light-sheet stack with a TiS-/SiS-rDL model (RCAN3D): a ZYX volume, a TZYX ImageJ hyperstack or a folder of one volume per time point; TiS models take windows of C time points, SiS models every volume',
    )
    .requiredOption('--model <path>', 'a model folder (rdl train tis|sis) or a reference RCAN3D Keras .h5')
    .requiredOption('-o, --output <file>', 'output stack (.tif keeps the ImageJ axes, or .mrc)')
    .option('--background <counts>', 'camera offset subtracted first', '100')
    .option('--slices <n>', 'pages per volume of stacks without ImageJ axes')
    .option('--tile <Z,Y,X>', 'largest tile predicted at once (bigger volumes go in overlapping tiles)', '32,256,256')
    .option('--overlap <Z,Y,X>', 'overlap of neighbouring tiles (default half the tile in z, a quarter in y and x)')
    .option(
      '--flips <mode>',
      'test-time flip averaging: none | pair (with the z-reversed stack for SiS, the time-reversed one for TiS: cancels the half-step shift of even→odd training) | all (every flip, 8 or 16 passes)',
      'pair',
    )
    .option(
      '--dtype <type>',
      'output type: uint16 (normalized × 10,000: the stack’s 99.9th percentile above background ↦ 10,000) or float32 (counts above background)',
      'uint16',
    )
    .option('--mode <mode>', 'tis | sis (default: as the model was trained; a 1-channel .h5 is SiS)')
    .option('--device <device>', 'engine device: cpu | cuda | cuda:N', 'cpu')
    .action(async (input: string, o: VolumeCliOptions) => {
      applyGlobalOptions(program);
      if (!FLIP_AVERAGING.includes(o.flips as FlipAveraging)) {
        throw new ParameterError('--flips', FLIP_AVERAGING.join(' | '), o.flips);
      }
      if (o.dtype !== 'uint16' && o.dtype !== 'float32')
        throw new ParameterError('--dtype', 'uint16 | float32', o.dtype);
      if (o.mode !== undefined && o.mode !== 'tis' && o.mode !== 'sis') {
        throw new ParameterError('--mode', 'tis | sis', o.mode);
      }
      const background = Number(o.background);
      if (!(background >= 0)) throw new ParameterError('--background', 'a number ≥ 0', o.background);
      const [tz, ty, tx] = parseTriple('--tile', o.tile);
      const overlap = o.overlap === undefined ? undefined : parseTriple('--overlap', o.overlap, 0);
      const t0 = performance.now();
      const r = await predictVolume({
        input,
        model: o.model,
        output: o.output,
        background,
        slices: o.slices === undefined ? null : integerOption('--slices', o.slices, 1),
        tile: { z: tz, y: ty, x: tx },
        ...(overlap ? { overlap: { z: overlap[0], y: overlap[1], x: overlap[2] } } : {}),
        flips: o.flips as FlipAveraging,
        dtype: o.dtype,
        device: o.device,
        ...(o.mode ? { mode: o.mode as 'tis' | 'sis' } : {}),
        onProgress: (done, total) => {
          if (process.stderr.isTTY) {
            const s = (performance.now() - t0) / 1000;
            process.stderr.write(`\rtime point ${done}/${total}  ${(s / done).toFixed(1)} s each `);
          }
        },
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      process.stderr.write(
        `wrote ${o.output}: ${r.frames} × ${r.depth} × ${r.height} × ${r.width} (T×Z×Y×X) ${o.dtype}, ${r.mode.toUpperCase()}-rDL, flips ${o.flips}\n`,
      );
    });
}
