// `rdl reconstruct <raw> -o <out>`: Wiener SIM reconstruction (2× grid), one image per cycle.
// Optics options are estimate's (addOpticsOptions); --params takes either SIM parameters (as for
// estimate) or illumination parameters from `rdl estimate --json` (recognized by its "orientations" array).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InputFileError, ParameterError } from '../../errors.js';
import { openStackWriter } from '../../io/stack-writer.js';
import type { RawStack } from '../../sim/frames.js';
import { type PatternGroup, parsePatterns } from '../../sim/reconstruct/pattern-json.js';
import { reconstructStack } from '../../sim/reconstruct/reconstruct.js';
import { checkWienerParameter } from '../../sim/reconstruct/wiener.js';
import {
  checkOutputFile,
  naming,
  readSimStack,
  requireContrast,
  requireFiniteResult,
  requireInputFile,
} from '../inputs.js';
import { applyGlobalOptions, positiveOption } from '../options.js';
import { filePixelSizeUm, withPixelSize } from '../pixel-size.js';
import { addOpticsOptions, chooseOtf, type OpticsCliOptions, parametersFromOptions } from './estimate.js';

interface ReconstructCliOptions extends OpticsCliOptions {
  output: string;
  overwrite?: boolean;
  wiener: string;
  notch: boolean;
  notchStrength: string;
  notchFwhm: string;
  apoFactor: string;
  apoBend: string;
  modulation: string;
  device: string;
}

/** An `rdl estimate --json` file (object with orientations, or an array of groups), else null. */
function illuminationFile(path: string | undefined, orientations: number): PatternGroup[] | null {
  if (path === undefined) return null;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputFileError(path, `not a readable JSON file (${(err as Error).message})`);
  }
  // SIM parameter files have "orientations": 3 (a count); estimate output has an array there.
  const isIllumination =
    Array.isArray(v) ||
    (v !== null && typeof v === 'object' && Array.isArray((v as { orientations?: unknown }).orientations));
  return isIllumination ? parsePatterns(v, orientations, path) : null;
}

export function registerReconstruct(program: Command): void {
  const cmd = program
    .command('reconstruct')
    .description(
      'Wiener SIM reconstruction of 2D linear SIM (3 orientations × 3 phases) on a 2× grid, one image per cycle',
    )
    .argument('<raw>', 'raw SIM frames (.mrc or .tif), orientation-major, cycles one after another')
    .requiredOption('-o, --output <file>', 'output image stack (.tif or .mrc), float32, pixel size halved');
  addOpticsOptions(cmd)
    .option('--wiener <w>', 'Wiener parameter w > 0 (larger: smoother, less noise)', '0.05')
    .option('--no-notch', 'no notch filter at the band centres')
    .option('--notch-strength <s>', 'notch depth in [0, 1]', '0.99')
    .option('--notch-fwhm <k>', 'notch width, cycles/µm', '1.2')
    .option('--apo-factor <F>', 'apodization radius as F/2 × (OTF cutoff + |k0|)', '2')
    .option('--apo-bend <b>', 'apodization bend β', '0.9')
    .option('--modulation <how>', 'measured (from the bands) | given (from --params)', 'measured')
    .option('--device <device>', 'engine device (cpu, cuda)', 'cpu')
    .option('--overwrite', 'replace the output file when it exists')
    .addHelpText(
      'after',
      '\nWithout illumination parameters (--params FILE from `rdl estimate --json`) they are fitted on the mean of all cycles.',
    )
    .action((raw: string, o: ReconstructCliOptions) => {
      applyGlobalOptions(program);
      requireInputFile(raw); // a missing input first, before any complaint about the options
      checkOutputFile(o.output, { overwrite: o.overwrite, inputs: [raw] }); // before minutes of work, not after
      const w = Number(o.wiener);
      checkWienerParameter(w);
      if (o.modulation !== 'measured' && o.modulation !== 'given') {
        throw new ParameterError('--modulation', 'measured | given', o.modulation);
      }
      const strength = Number(o.notchStrength);
      if (!(strength >= 0 && strength <= 1))
        throw new ParameterError('--notch-strength', 'a number in [0, 1]', o.notchStrength);
      const notch = o.notch ? { strength, fwhmPerUm: positiveOption('--notch-fwhm', o.notchFwhm) } : null;
      const apodization = {
        factor: positiveOption('--apo-factor', o.apoFactor),
        bend: positiveOption('--apo-bend', o.apoBend),
      };
      // SIM parameters first (orientation count), then decide what --params holds.
      const probe = parametersFromOptions({ ...o, params: undefined });
      const groups = illuminationFile(o.params, probe.params.orientations);
      const resolved = groups === null ? parametersFromOptions(o) : probe;
      const notes: string[] = [];
      const { fileFields } = resolved;
      const params = withPixelSize(
        'rdl reconstruct',
        raw,
        { ...o, params: groups === null ? o.params : undefined },
        resolved.params,
        fileFields,
        filePixelSizeUm(raw),
        (l) => notes.push(l), // said once the input has passed its checks: a bad input gets one line only
      );
      const otf = chooseOtf(o, params, fileFields);
      const { img, cycles, perCycle } = readSimStack(raw, params);
      requireContrast(raw, img, perCycle);
      for (const l of notes) process.stderr.write(`${l}\n`);
      // The output is opened (extension, folder, a temporary file beside it) before the work.
      const half = params.pixelSizeUm / 2;
      const writer = openStackWriter(
        o.output,
        { width: 2 * img.width, height: 2 * img.height, frames: cycles },
        'float32',
        {
          pixelSizeUm: { x: half, y: half, z: null },
          inputs: [raw],
          timeLapse: true,
        },
      );
      try {
        const stack: RawStack = {
          data: img.data as RawStack['data'],
          width: img.width,
          height: img.height,
          frames: img.frames,
        };
        const result = naming(raw, () =>
          reconstructStack(stack, otf, params, groups, {
            wiener: w,
            notch,
            apodization,
            modulation: o.modulation as 'measured' | 'given',
            device: o.device,
            onCycle: (c, n) => {
              if (n > 1 && process.stderr.isTTY)
                process.stderr.write(`\rrdl reconstruct: cycle ${c}/${n}${c === n ? '\n' : ''}`);
            },
          }),
        );
        if (result.width !== 2 * img.width || result.height !== 2 * img.height || result.cycles !== cycles) {
          throw new Error(
            `reconstruction of ${result.cycles} × ${result.width}×${result.height}, expected ${cycles} × ${2 * img.width}×${2 * img.height}`,
          );
        }
        requireFiniteResult(`the reconstruction of ${raw}`, result.data, result);
        if (result.fitted) {
          result.fitted.forEach((e, d) => {
            process.stderr.write(
              `rdl reconstruct: orientation ${d}: fitted k0 (${e.k0PerUm[0].toFixed(4)}, ${e.k0PerUm[1].toFixed(4)}) 1/µm, phase ${e.phaseRad.toFixed(3)} rad${e.fallback ? ` (fallback to the preset: ${e.fallbackReasons.join(', ')})` : ''}\n`,
            );
          });
        }
        const mods = result.modulations[0]!.map((m) => m.toFixed(2)).join(', ');
        process.stderr.write(`rdl reconstruct: modulation depth used (cycle 0): ${mods}\n`);
        writer.write(result.data);
        writer.commit();
        process.stderr.write(
          `wrote ${o.output}: ${cycles} × ${result.width} × ${result.height} float32, pixel size ${half} µm\n`,
        );
      } finally {
        writer.abort();
      }
    });
}
