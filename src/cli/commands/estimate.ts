// `rdl estimate <raw>`: fits the illumination pattern (k0, phase, modulation) of raw 2D-SIM
// frames per orientation: by default with the robust fit (src/sim/robust.ts), or with the reference
// rDL-SIM algorithm (--fit reference).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InputFileError, ParameterError } from '../../errors.js';
import { type CycleGroupEstimate, estimateAllCycles, estimateStack } from '../../sim/fit/estimate.js';
import type { RawStack } from '../../sim/frames.js';
import { type RadialOtf, readRadialOtf, syntheticRadialOtf } from '../../sim/otf.js';
import { PRESET_NAMES, type PresetName, preset, resolveParameters, type SimParameters } from '../../sim/params.js';
import { naming, nonFiniteFields, readSimStack, requireContrast, requireInputFile } from '../inputs.js';
import { applyGlobalOptions } from '../options.js';
import { withPixelSize } from '../pixel-size.js';

/** The optics and parameter options (shared with `rdl reconstruct`, which adds them with addOpticsOptions). */
export interface OpticsCliOptions {
  otf?: string;
  na?: string;
  emissionNm?: string;
  pixelUm?: string;
  excitationNm?: string;
  excitationNa?: string;
  preset: string;
  params?: string;
}

interface EstimateCliOptions extends OpticsCliOptions {
  cycle: string;
  allCycles?: boolean;
  numAverage: string;
  device: string;
  precision: string;
  fit: string;
  searchAngle?: string;
  searchSpacing?: string;
  json?: boolean;
}

export function num(name: string, v: string | undefined, integer = false, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  const ok = Number.isFinite(n) && (integer ? Number.isInteger(n) && n >= min : n > min);
  if (!ok) throw new ParameterError(name, integer ? `an integer ≥ ${min}` : `a number > ${min}`, v);
  return n;
}

function readParamsFile(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputFileError(path, `not a readable JSON file (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InputFileError(path, 'expected a JSON object of SIM parameters');
  }
  return parsed as Record<string, unknown>;
}

/** Parameters: preset, then the JSON file, then the command-line values. */
export function parametersFromOptions(o: OpticsCliOptions): { params: SimParameters; fileFields: Set<string> } {
  if (!PRESET_NAMES.includes(o.preset as PresetName)) {
    throw new ParameterError('--preset', PRESET_NAMES.join(' | '), o.preset);
  }
  let params = preset(o.preset as PresetName);
  const file = o.params === undefined ? {} : readParamsFile(o.params);
  if (o.params !== undefined) params = resolveParameters(params, file, o.params);
  params = resolveParameters(
    params,
    {
      pixelSizeUm: num('--pixel-um', o.pixelUm),
      excitationWavelengthNm: num('--excitation-nm', o.excitationNm),
      excitationNA: num('--excitation-na', o.excitationNa),
      detectionNA: num('--na', o.na),
      emissionWavelengthNm: num('--emission-nm', o.emissionNm),
    },
    'options',
  );
  return { params, fileFields: new Set(Object.keys(file)) };
}

export function chooseOtf(o: OpticsCliOptions, p: SimParameters, fileFields: Set<string>): RadialOtf {
  if (o.otf !== undefined) {
    if (o.na !== undefined) throw new ParameterError('--na', 'not together with --otf (one OTF only)', o.na);
    return readRadialOtf(o.otf);
  }
  if (o.na === undefined && !fileFields.has('detectionNA')) {
    if (o.emissionNm !== undefined) {
      throw new ParameterError(
        'OTF',
        `--na N beside the --emission-nm ${o.emissionNm} you gave (the detection NA of a synthetic OTF; TIRF data such as MT.mrc needs NA ≈ 1.49), or --otf FILE (a measured radial OTF)`,
        'no --na',
      );
    }
    throw new ParameterError(
      'OTF',
      '--otf FILE (a measured radial OTF), or --na and --emission-nm for a synthetic one (TIRF data such as MT.mrc needs NA ≈ 1.49 at 525 nm)',
      'neither',
    );
  }
  // Sampled finely (0.001 cycles/µm) up to well beyond any cutoff; resampling then adds < 1e-5.
  return syntheticRadialOtf({ na: p.detectionNA, emissionWavelengthNm: p.emissionWavelengthNm }, 0.001, 64);
}

function printTable(groups: CycleGroupEstimate[], otf: RadialOtf): void {
  const out: string[] = [`OTF: ${otf.source}`];
  const head = [
    'orient',
    'kx 1/µm',
    'ky 1/µm',
    'angle rad',
    '|k0| 1/µm',
    'spacing µm',
    'phase rad',
    '± rad',
    '|modamp|',
    'depth m',
    'peak ratio',
    'fallback',
  ];
  for (const g of groups) {
    const cyc = g.cycles[0] === g.cycles[1] ? `cycle ${g.cycles[0]}` : `cycles ${g.cycles[0]}–${g.cycles[1]} (mean)`;
    out.push('', cyc, head.map((h) => h.padStart(11)).join(''));
    g.orientations.forEach((o, d) => {
      const row = [
        String(d),
        o.k0PerUm[0].toFixed(5),
        o.k0PerUm[1].toFixed(5),
        o.angleRad.toFixed(5),
        o.magnitudePerUm.toFixed(5),
        o.spacingUm.toFixed(5),
        o.phaseRad.toFixed(4),
        o.reliability?.phaseSdRad == null ? '-' : o.reliability.phaseSdRad.toFixed(4),
        Math.hypot(o.modamp[0], o.modamp[1]).toFixed(4),
        o.modulation.toFixed(3),
        o.reliability?.peakRatio == null ? '-' : o.reliability.peakRatio.toFixed(2),
        o.fallback ? o.fallbackReasons.join('+') : '-',
      ];
      out.push(row.map((c) => c.padStart(11)).join(''));
    });
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

function toJson(g: CycleGroupEstimate) {
  return {
    cycles: g.cycles,
    orientations: g.orientations.map((o) => ({
      k0PerUm: o.k0PerUm,
      angleRad: o.angleRad,
      magnitudePerUm: o.magnitudePerUm,
      spacingUm: o.spacingUm,
      phaseRad: o.phaseRad,
      modamp: o.modamp,
      modulation: o.modulation,
      fallback: o.fallback,
      fallbackReasons: o.fallbackReasons,
      fitted: o.fitted,
      evaluations: o.evaluations,
      degenerate: o.degenerate,
      ...(o.reliability ? { reliability: o.reliability } : {}),
    })),
  };
}

/**
 * --otf, --na, --emission-nm, --pixel-um, --excitation-nm, --excitation-na, --preset, --params.
 * `presetFlag` renames --preset where a command's --preset means something else (rdl train
 * denoise: the network size), e.g. 'setup'.
 */
export function addOpticsOptions(cmd: Command, presetFlag = 'preset'): Command {
  const renamed = presetFlag !== 'preset';
  return cmd
    .option('--otf <file>', 'measured radial OTF (MRC, as the reference ships)')
    .option('--na <n>', 'detection NA for a synthetic OTF (instead of --otf)')
    .option('--emission-nm <nm>', 'emission wavelength for a synthetic OTF')
    .option('--pixel-um <um>', "pixel size in µm (default: the input file's, else the preset's 0.0626)")
    .option('--excitation-nm <nm>', 'excitation wavelength in nm (preset: 488)')
    .option('--excitation-na <n>', 'excitation NA (preset: 1.35); spacing = λ/NA/2')
    .option(
      `--${presetFlag} <name>`,
      `SIM parameter preset${renamed ? " (rdl estimate's --preset)" : ''}: ${PRESET_NAMES.join(' | ')}`,
      'setup0',
    )
    .option(
      '--params <file>',
      `JSON file of SIM parameters overriding the ${presetFlag} (e.g. sim_parameters.json of rdl simulate)`,
    );
}

export function registerEstimate(program: Command): void {
  const cmd = program
    .command('estimate')
    .description(
      'estimate the 2D-SIM illumination pattern (k0, phase, modulation) per orientation, with a reliability score',
    )
    .argument('<raw>', 'raw SIM frames (.mrc or .tif), orientation-major: 3 orientations × 3 phases per cycle');
  addOpticsOptions(cmd)
    .option('--cycle <n>', 'first cycle (0-based) to fit', '0')
    .option('--all-cycles', 'fit every group of --num-average cycles')
    .option('--num-average <n>', 'cycles averaged before fitting', '1')
    .option('--device <device>', 'engine device (cpu, cuda)', 'cpu')
    .option('--precision <p>', 'float32 | float64', 'float32')
    .option('--fit <mode>', 'robust (windowed global search) | reference (rDL-SIM hill climb)', 'robust')
    .option(
      '--search-angle <rad>',
      'robust fit: angle half-width around the start angles, rad (≥ 3.1416: all angles)',
      '0.1',
    )
    .option('--search-spacing <fraction>', 'robust fit: |k0| half-width as a fraction of the expected one', '0.05')
    .option('--json', 'print JSON')
    .action((raw: string, o: EstimateCliOptions) => {
      applyGlobalOptions(program);
      requireInputFile(raw); // a missing input first, before any complaint about the options
      if (o.precision !== 'float32' && o.precision !== 'float64') {
        throw new ParameterError('--precision', 'float32 | float64', o.precision);
      }
      if (o.fit !== 'robust' && o.fit !== 'reference') throw new ParameterError('--fit', 'robust | reference', o.fit);
      const window = {
        angleRad: num('--search-angle', o.searchAngle) as number,
        magnitudeFraction: num('--search-spacing', o.searchSpacing) as number,
      };
      const resolved = parametersFromOptions(o);
      const { fileFields } = resolved;
      // Said once the input has passed its checks, so that a bad input gets one line only.
      const notes: string[] = [];
      const params = withPixelSize('rdl estimate', raw, o, resolved.params, fileFields, undefined, (l) =>
        notes.push(l),
      );
      const otf = chooseOtf(o, params, fileFields);
      const { img, cycles, perCycle } = readSimStack(raw, params);
      const first = o.allCycles ? 0 : Math.min(cycles - 1, Number(o.cycle) || 0);
      const used = o.allCycles ? img.data : img.data.subarray(first * perCycle * img.width * img.height);
      requireContrast(raw, { ...img, data: used }, perCycle);
      for (const l of notes) process.stderr.write(`${l}\n`);
      const stack: RawStack = {
        data: img.data as RawStack['data'],
        width: img.width,
        height: img.height,
        frames: img.frames,
      };
      const numAverage = num('--num-average', o.numAverage, true, 1) as number;
      const common = {
        numAverage,
        device: o.device,
        precision: o.precision as 'float32' | 'float64',
        fit: o.fit as 'robust' | 'reference',
        window,
      };
      const groups = naming(raw, () =>
        o.allCycles
          ? estimateAllCycles(stack, otf, params, common)
          : [estimateStack(stack, otf, params, { ...common, cycle: num('--cycle', o.cycle, true, 0) as number })],
      );
      const bad = nonFiniteFields(groups.map(toJson));
      if (bad.length > 0) {
        throw new InputFileError(
          raw,
          `the fit came out non-finite (${bad.slice(0, 3).join(', ')}); is there an illumination pattern in these frames?`,
        );
      }
      for (const g of groups) {
        g.orientations.forEach((r, d) => {
          if (r.fallback) {
            process.stderr.write(
              `rdl estimate: warning: cycle ${g.cycles[0]}, orientation ${d}: fitted ${r.fallbackReasons.join(' and ')} too far from the preset; using the preset (fitted angle ${r.fitted.angleRad.toFixed(4)} rad, |k0| ${r.fitted.magnitudePerUm.toFixed(4)} 1/µm)\n`,
            );
          }
          if (r.degenerate)
            process.stderr.write(`rdl estimate: warning: cycle ${g.cycles[0]}, orientation ${d}: ${r.degenerate}\n`);
          for (const w of r.reliability?.warnings ?? []) {
            process.stderr.write(
              `rdl estimate: warning: cycle ${g.cycles[0]}, orientation ${d}: unreliable fit: ${w}\n`,
            );
          }
        });
      }
      if (o.json) {
        const out = o.allCycles ? groups.map(toJson) : toJson(groups[0] as CycleGroupEstimate);
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      } else {
        printTable(groups, otf);
      }
    });
}
