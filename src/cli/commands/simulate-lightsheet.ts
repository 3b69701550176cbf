// `rdl simulate-lightsheet -o <dir>`: a simulated light-sheet time-lapse (noisy.tif) with its clean
// truth (clean.tif), for trying and scoring `rdl train tis|sis` and `rdl predict volume`.
import type { Command } from 'commander';
import { ParameterError } from '../../errors.js';
import { writeLightsheetDataset } from '../../sim/lightsheet/dataset.js';
import {
  LIGHTSHEET_DEFAULTS as D,
  LIGHTSHEET_STRUCTURES,
  type LightsheetStructure,
} from '../../sim/lightsheet/volume.js';
import { integerOption, positiveOption } from '../options.js';
import { parseTriple } from './train-volume.js';

export function registerSimulateLightsheet(program: Command): void {
  program
    .command('simulate-lightsheet')
    .description(
      'simulate a light-sheet time-lapse: 3D tubules, vesicles and membranes, anisotropic PSF, slow motion, Poisson and read noise; writes noisy.tif (uint16) and clean.tif (expected photons) as TZYX ImageJ hyperstacks',
    )
    .requiredOption('-o, --output <dir>', 'output folder')
    .option('--size <Z,Y,X>', 'volume size in voxels', `${D.depth},${D.height},${D.width}`)
    .option('--frames <n>', 'time points', String(D.frames))
    .option('--structure <kind>', LIGHTSHEET_STRUCTURES.join(' | '), D.structure)
    .option('--photons <n>', 'expected photons at the brightest structures', String(D.photons))
    .option('--read-noise <e>', 'camera read noise, electrons rms', String(D.readNoise))
    .option('--speed <voxels>', 'largest drift between time points, voxels', String(D.speed))
    .option('--seed <n>', 'random seed', String(D.seed))
    .action((o: Record<string, string>) => {
      if (!LIGHTSHEET_STRUCTURES.includes(o.structure as LightsheetStructure)) {
        throw new ParameterError('--structure', LIGHTSHEET_STRUCTURES.join(' | '), o.structure);
      }
      const [depth, height, width] = parseTriple('--size', o.size!);
      const readNoise = Number(o.readNoise);
      if (!(readNoise >= 0)) throw new ParameterError('--read-noise', 'a number ≥ 0', o.readNoise);
      const speed = Number(o.speed);
      if (!(speed >= 0)) throw new ParameterError('--speed', 'a number ≥ 0', o.speed);
      const files = writeLightsheetDataset(o.output!, {
        depth,
        height,
        width,
        frames: integerOption('--frames', o.frames!, 1),
        structure: o.structure as LightsheetStructure,
        photons: positiveOption('--photons', o.photons!),
        readNoise,
        speed,
        seed: integerOption('--seed', o.seed!, 0),
      });
      process.stdout.write(`wrote ${files.join(', ')}\n`);
    });
}
