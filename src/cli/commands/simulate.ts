// `rdl simulate -o <dir>`: simulated SIM data with ground truth (raw noisy cycles, high-SNR
// cycles, 2× SR ground truth, true illumination parameters), in the reference's folder layouts.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { OutputError, ParameterError } from '../../errors.js';
import { PRESET_NAMES, type PresetName } from '../../sim/params.js';
import { LAYOUTS, type Layout, writeDataset } from '../../sim/simulate/dataset.js';
import { SIMULATOR_DETECTION_NA, SIMULATOR_K_FRACTION, simulatorParameters } from '../../sim/simulate/optics.js';
import { STRUCTURE_KINDS, type StructureKind } from '../../sim/simulate/structures.js';
import { requireWritableFolder } from '../inputs.js';
import { applyGlobalOptions, integerOption, positiveOption } from '../options.js';

/** A data set name is one path component: no folders, no way out of -o. */
function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new ParameterError('--name', 'a plain name (one path component: no /, \\, "." or "..")', name);
  }
}

/**
 * Before the work: refuses outputs that exist (unless overwrite) and an -o that cannot be made or
 * written. sim_parameters.json may stay when it would be written with the same content.
 */
function checkOutputs(
  root: string,
  name: string,
  layout: string,
  photons: number[],
  paramsJson: string,
  overwrite: boolean,
): void {
  let existing = resolve(root);
  while (!existsSync(existing)) existing = dirname(existing);
  if (!statSync(existing).isDirectory()) throw new OutputError(`cannot write ${root}: ${existing} is not a folder`);
  requireWritableFolder(existing, root);
  if (overwrite) return;
  const taken: string[] = [];
  const params = join(root, 'sim_parameters.json');
  if (existsSync(params) && readFileSync(params, 'utf8') !== paramsJson) taken.push(params);
  if (layout === 'mrc') {
    for (const ph of photons) {
      const stem = join(root, `${name}_${ph}ph`);
      for (const f of [`${stem}.mrc`, `${stem}_gt.mrc`, `${stem}_sr_gt.tif`, `${stem}_params.json`])
        if (existsSync(f)) taken.push(f);
    }
  } else {
    const base = join(root, name);
    if (existsSync(base) && (!statSync(base).isDirectory() || readdirSync(base).length > 0)) taken.push(base);
  }
  if (taken.length > 0) {
    const more = taken.length > 1 ? ` (and ${taken.length - 1} more)` : '';
    throw new OutputError(`${taken[0]}${more} exists; choose another -o or --name, or pass --overwrite to replace it`);
  }
}

interface SimulateCliOptions {
  output: string;
  name?: string;
  overwrite?: boolean;
  structure: string;
  size: string;
  cycles: string;
  cells: string;
  photons: string;
  gtPhotons: string;
  readNoise: string;
  seed: string;
  layout: string;
  train: string;
  val: string;
  modulation?: string;
  preset: string;
  na: string;
  kFraction: string;
  device: string;
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description(
      'simulate 2D-SIM data with ground truth (noisy raw, high-SNR raw, 2× SR truth, true pattern parameters)',
    )
    .requiredOption('-o, --output <dir>', 'output folder')
    .option('--name <name>', 'data set name (default: the structure)')
    .option('--structure <kind>', STRUCTURE_KINDS.join(' | '), 'microtubules')
    .option('--size <px>', 'raw image size in pixels (even, ≥ 32); the SR truth is twice this', '256')
    .option('--cycles <n>', 'cycles per time-lapse (mrc layout)', '1')
    .option('--cells <n>', 'cells, each one scene at every --photons level (biosr layout)', '4')
    .option('--photons <list>', 'peak photons per raw pixel, comma-separated levels (e.g. 30,100,1000)', '100')
    .option('--gt-photons <n>', 'peak photons of the high-SNR target cycle', '2000')
    .option('--read-noise <e>', 'camera read noise, electrons rms', '1.5')
    .option('--seed <n>', 'random seed (same seed, same data)', '1')
    .option(
      '--layout <layout>',
      'sr (raw → 2× truth) | dn (noisy → high-SNR raw) | mrc (time-lapses) | biosr (BioSR cells, for rdl prepare)',
      'mrc',
    )
    .option('--train <n>', 'training samples (sr, dn)', '8')
    .option('--val <n>', 'validation samples (sr, dn)', '2')
    .option('--modulation <m>', 'modulation depth, or a range lo,hi (default 0.7,0.95)')
    .option('--preset <name>', `pattern-angle preset: ${PRESET_NAMES.join(' | ')}`, 'setup0')
    .option('--na <n>', 'detection NA (synthetic OTF, 525 nm emission)', String(SIMULATOR_DETECTION_NA))
    .option('--k-fraction <f>', '|k0| as a fraction of the detection cutoff 2NA/λ', String(SIMULATOR_K_FRACTION))
    .option('--device <device>', 'engine device (cpu, cuda)', 'cpu')
    .option('--overwrite', 'replace files of an earlier simulation in -o')
    .action((o: SimulateCliOptions) => {
      applyGlobalOptions(program);
      if (!STRUCTURE_KINDS.includes(o.structure as StructureKind)) {
        throw new ParameterError('--structure', STRUCTURE_KINDS.join(' | '), o.structure);
      }
      if (!LAYOUTS.includes(o.layout as Layout)) throw new ParameterError('--layout', LAYOUTS.join(' | '), o.layout);
      if (!PRESET_NAMES.includes(o.preset as PresetName))
        throw new ParameterError('--preset', PRESET_NAMES.join(' | '), o.preset);
      const size = integerOption('--size', o.size, 32);
      if (size % 2) throw new ParameterError('--size', 'an even number of pixels', o.size);
      const photons = o.photons.split(',').map((v) => positiveOption('--photons', v.trim()));
      let modulation: number | [number, number] | undefined;
      if (o.modulation !== undefined) {
        const parts = o.modulation.split(',').map((v) => Number(v));
        if (!parts.every((v) => v > 0 && v <= 1) || parts.length > 2 || (parts.length === 2 && parts[0]! > parts[1]!)) {
          throw new ParameterError('--modulation', 'a depth in (0, 1] or a range lo,hi', o.modulation);
        }
        modulation = parts.length === 1 ? parts[0]! : [parts[0]!, parts[1]!];
      }
      const params = simulatorParameters({
        preset: o.preset as PresetName,
        detectionNA: positiveOption('--na', o.na),
        kFraction: positiveOption('--k-fraction', o.kFraction),
      });
      const name = o.name ?? o.structure;
      checkName(name);
      checkOutputs(o.output, name, o.layout, photons, `${JSON.stringify(params, null, 2)}\n`, o.overwrite === true);
      const files = writeDataset({
        root: o.output,
        name,
        layout: o.layout as Layout,
        structure: o.structure as StructureKind,
        size,
        params,
        seed: integerOption('--seed', o.seed, 0),
        photons,
        gtPhotons: positiveOption('--gt-photons', o.gtPhotons),
        readNoise: Number(o.readNoise) >= 0 ? Number(o.readNoise) : positiveOption('--read-noise', o.readNoise),
        train: integerOption('--train', o.train, 0),
        val: integerOption('--val', o.val, 0),
        cycles: integerOption('--cycles', o.cycles, 1),
        cells: integerOption('--cells', o.cells, 1),
        modulation,
        device: o.device,
        onSample: (d, n) => {
          if (process.stderr.isTTY) process.stderr.write(`\rrdl simulate: ${d}/${n}${d === n ? '\n' : ''}`);
        },
      });
      process.stdout.write(`wrote ${files.length} files under ${o.output}\n`);
    });
}
