// `rdl reconstruct <raw> -o <out>`: Wiener SIM reconstruction (2× grid), one image per cycle.
// Optics options are estimate's (addOpticsOptions); --params takes either SIM parameters (as for
// estimate) or illumination parameters from `rdl estimate --json` (recognized by its "orientations" array).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InputFileError, ParameterError } from '../../errors.js';
import { refuseToOverwriteInputs } from '../../io/atomic.js';
import { readImageStack, writeImageStack } from '../../io/stack.js';
import type { RawStack } from '../../sim/frames.js';
import { type PatternGroup, parsePatterns } from '../../sim/reconstruct/pattern-json.js';
import { reconstructStack } from '../../sim/reconstruct/reconstruct.js';
import { checkWienerParameter } from '../../sim/reconstruct/wiener.js';
import { applyGlobalOptions, positiveOption } from '../options.js';
import { addOpticsOptions, chooseOtf, type OpticsCliOptions, parametersFromOptions } from './estimate.js';

interface ReconstructCliOptions extends OpticsCliOptions {
  output: string;
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
    .addHelpText(
      'after',
      '\nWithout illumination parameters (--params FILE from `rdl estimate --json`) they are fitted on the mean of all cycles.',
    )
    .action((raw: string, o: ReconstructCliOptions) => {
      applyGlobalOptions(program);
      refuseToOverwriteInputs(o.output, [raw]); // before minutes of work, not after
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
      const { params, fileFields } = groups === null ? parametersFromOptions(o) : probe;
      const otf = chooseOtf(o, params, fileFields);
      const img = readImageStack(raw);
      if (img.dtype === 'complex64') throw new InputFileError(raw, 'complex data cannot be raw SIM frames');
      const stack: RawStack = {
        data: img.data as RawStack['data'],
        width: img.width,
        height: img.height,
        frames: img.frames,
      };
      const result = reconstructStack(stack, otf, params, groups, {
        wiener: w,
        notch,
        apodization,
        modulation: o.modulation,
        device: o.device,
        onCycle: (c, n) => {
          if (n > 1 && process.stderr.isTTY)
            process.stderr.write(`\rrdl reconstruct: cycle ${c}/${n}${c === n ? '\n' : ''}`);
        },
      });
      if (result.fitted) {
        result.fitted.forEach((e, d) => {
          process.stderr.write(
            `rdl reconstruct: orientation ${d}: fitted k0 (${e.k0PerUm[0].toFixed(4)}, ${e.k0PerUm[1].toFixed(4)}) 1/µm, phase ${e.phaseRad.toFixed(3)} rad${e.fallback ? ` (fallback to the preset: ${e.fallbackReasons.join(', ')})` : ''}\n`,
          );
        });
      }
      const mods = result.modulations[0]!.map((m) => m.toFixed(2)).join(', ');
      process.stderr.write(`rdl reconstruct: modulation depth used (cycle 0): ${mods}\n`);
      const half = params.pixelSizeUm / 2;
      writeImageStack(
        o.output,
        result.data,
        { width: result.width, height: result.height, frames: result.cycles },
        { pixelSizeUm: { x: half, y: half, z: null }, inputs: [raw] },
      );
    });
}
