// `rdl predict sim <raw> --sr-model M --denoise-model M -o <out>`: parsing and reporting only; the
// job is src/pipelines/predict-sim.ts.
import type { Command } from 'commander';
import { setDefaultDevice } from '../../engine/index.js';
import { InterruptedError, ParameterError } from '../../errors.js';
import { RdlDenoiser } from '../../models/denoiser.js';
import { DFCAN } from '../../models/dfcan.js';
import { loadModelOfKind } from '../../models/folder.js';
import type { AnyModel } from '../../models/registry.js';
import { type CycleReport, type GroupReport, type PredictSimResult, predictSim } from '../../pipelines/predict-sim.js';
import type { SimParameters } from '../../sim/params.js';
import { checkOutputFile } from '../inputs.js';
import { applyGlobalOptions, integerOption } from '../options.js';
import { withPixelSize } from '../pixel-size.js';
import { ItemProgress } from '../progress.js';
import { addOpticsOptions, chooseOtf, num, type OpticsCliOptions, parametersFromOptions } from './estimate.js';

interface SimCliOptions extends OpticsCliOptions {
  srModel: string;
  denoiseModel: string;
  output: string;
  fit: string;
  numAverage: string;
  dtype: string;
  tile: string;
  tileOverlap: string;
  keepLowFrequencies: string;
  reconstruct?: string;
  wiener: string;
  device: string;
  json?: boolean;
  overwrite?: boolean;
}

/** The pixel size by the one rule of src/cli/pixel-size.ts (the file's, unless given; the preset last). */
function pixelSize(input: string, o: SimCliOptions, params: SimParameters, fileFields: Set<string>): SimParameters {
  return withPixelSize('rdl predict sim', input, o, params, fileFields);
}

function summary(r: PredictSimResult): string {
  const lines: string[] = [];
  const D = r.cycles[0]?.modulation.input.length ?? 0;
  const mean = (f: (c: CycleReport) => number) => r.cycles.reduce((s, c) => s + f(c), 0) / r.cycles.length;
  for (let d = 0; d < D; d++) {
    const mIn = mean((c) => c.modulation.input[d]!);
    const mOut = mean((c) => c.modulation.output[d]!);
    lines.push(
      `orientation ${d}: modulation ${mIn.toFixed(3)} in the input, ${mOut.toFixed(3)} in the output (${Math.round((100 * mOut) / mIn)} % kept, mean over ${r.cycles.length} cycles)`,
    );
  }
  const worst = Math.max(...r.cycles.flatMap((c) => c.meanRatio.map((m) => Math.abs(m - 1))));
  lines.push(`frame means of the network's output vs the input: within ±${(100 * worst).toFixed(1)} %`);
  return lines.join('\n');
}

function toJson(r: PredictSimResult, o: { output: string; reconstruct: string | null }) {
  return {
    input: { frames: r.input.frames, width: r.input.width, height: r.input.height, format: r.input.format },
    output: o.output,
    reconstruction: o.reconstruct,
    groups: r.groups.map((g: GroupReport) => ({
      cycles: g.cycles,
      warnings: g.warnings,
      orientations: g.orientations.map((e) => ({
        k0PerUm: e.k0PerUm,
        angleRad: e.angleRad,
        spacingUm: e.spacingUm,
        phaseRad: e.phaseRad,
        modulation: e.modulation,
        fallback: e.fallback,
        fallbackReasons: e.fallbackReasons,
        ...(e.reliability ? { reliability: e.reliability } : {}),
      })),
    })),
    cycles: r.cycles,
  };
}

async function runSim(program: Command, input: string, o: SimCliOptions): Promise<void> {
  applyGlobalOptions(program);
  if (o.fit !== 'robust' && o.fit !== 'reference') throw new ParameterError('--fit', 'robust | reference', o.fit);
  if (o.dtype !== 'uint16' && o.dtype !== 'float32') throw new ParameterError('--dtype', 'uint16 | float32', o.dtype);
  const numAverage = integerOption('--num-average', o.numAverage, 1);
  const tile = integerOption('--tile', o.tile, 32);
  const overlap = integerOption('--tile-overlap', o.tileOverlap, 0);
  const keepLow = Number(o.keepLowFrequencies);
  if (!(Number.isFinite(keepLow) && keepLow >= 0 && keepLow <= 1)) {
    throw new ParameterError(
      '--keep-low-frequencies',
      'a fraction of the detection cutoff in [0, 1] (0: off)',
      o.keepLowFrequencies,
    );
  }
  const wiener = num('--wiener', o.wiener) as number;
  // Before minutes of work, not after: existing outputs, their folders and extensions.
  checkOutputFile(o.output, { overwrite: o.overwrite, inputs: [input] });
  if (o.reconstruct !== undefined) checkOutputFile(o.reconstruct, { overwrite: o.overwrite, inputs: [input] });
  const fromOptions = parametersFromOptions(o);
  const params = pixelSize(input, o, fromOptions.params, fromOptions.fileFields);
  const otf = chooseOtf(o, params, fromOptions.fileFields);
  setDefaultDevice(o.device);
  const loaded: AnyModel[] = [];
  try {
    const sr = await loadModelOfKind(o.srModel, 'dfcan', '--sr-model');
    loaded.push(sr);
    const denoiser = await loadModelOfKind(o.denoiseModel, 'rdl-denoiser', '--denoise-model', (c) => {
      const nsm = (c as { nsm?: object | null }).nsm;
      return nsm ? { ...c, nsm: { ...nsm, pixelSizeUm: params.pixelSizeUm } } : c;
    });
    loaded.push(denoiser);
    const frames = params.orientations * params.phases;
    if (!(sr instanceof DFCAN) || sr.config.inChannels !== frames) {
      throw new ParameterError(
        '--sr-model',
        `an SR model taking ${frames} frames`,
        `${(sr as DFCAN).config.inChannels} frames`,
      );
    }
    if (!(denoiser instanceof RdlDenoiser) || denoiser.config.channels !== params.phases) {
      throw new ParameterError(
        '--denoise-model',
        `a denoiser of ${params.phases} phases`,
        (denoiser as RdlDenoiser).config.channels,
      );
    }
    const progress = new ItemProgress('cycle');
    const ac = new AbortController();
    const onSigint = () => {
      if (ac.signal.aborted) process.exit(130);
      ac.abort();
    };
    process.on('SIGINT', onSigint);
    let result: PredictSimResult;
    try {
      result = await predictSim({
        input,
        output: o.output,
        models: { sr, denoiser },
        params,
        otf,
        fit: o.fit,
        numAverage,
        dtype: o.dtype,
        cycle: { tile, overlap, keepLowFrequencies: keepLow, device: o.device },
        reconstruct: o.reconstruct ?? null,
        wiener,
        onGroup: (g) => {
          for (const w of g.warnings) progress.line(`rdl predict sim: warning: ${w}`);
        },
        onCycle: (c, done, total) => {
          for (const w of c.warnings) progress.line(`rdl predict sim: warning: cycle ${c.cycle}: ${w}`);
          progress.update(done, total);
        },
        signal: ac.signal,
      });
    } catch (err) {
      if (err instanceof InterruptedError) throw new InterruptedError(`${err.message} (${o.output} not written)`);
      throw err;
    } finally {
      progress.stop();
      process.off('SIGINT', onSigint);
    }
    process.stderr.write(`${summary(result)}\n`);
    process.stderr.write(
      `wrote ${o.output}: ${result.input.frames} frames of ${result.input.width} × ${result.input.height}, ${o.dtype}${o.reconstruct ? `; ${o.reconstruct}: ${result.cycles.length} Wiener SR images` : ''}\n`,
    );
    if (o.json)
      process.stdout.write(
        `${JSON.stringify(toJson(result, { output: o.output, reconstruct: o.reconstruct ?? null }), null, 2)}\n`,
      );
  } finally {
    for (const m of loaded) m.dispose();
  }
}

export function registerPredictSim(predict: Command, program: Command): void {
  const cmd = predict
    .command('sim')
    .argument('<raw>', 'raw SIM time-lapse (.mrc or .tif): cycles of 3 orientations × 3 phases')
    .description(
      'denoise raw SIM frames with rDL: per cycle the illumination fit, the SR module, MPE and the rDL denoiser; writes denoised raw frames ready for any reconstruction',
    )
    .requiredOption(
      '--sr-model <path>',
      'SR inference module: a model folder (rdl train sr) or the reference DFCAN .h5',
    )
    .requiredOption(
      '--denoise-model <path>',
      'rDL denoising module: a model folder (rdl train denoise) or the reference rDL_Denoiser(_NSM) .h5',
    )
    .requiredOption(
      '-o, --output <file>',
      'denoised raw frames (.mrc or .tif; new file, the input is never overwritten)',
    );
  addOpticsOptions(cmd)
    .option('--fit <mode>', 'illumination fit: robust | reference', 'robust')
    .option('--num-average <n>', 'cycles whose mean is fitted together (the pattern of a setup is stable)', '1')
    .option(
      '--dtype <type>',
      'output values: uint16 (rounded, clipped to 0…65535) | float32, on the input’s scale',
      'uint16',
    )
    .option(
      '--tile <px>',
      'largest image side through the networks at once; larger fields go in overlapping tiles',
      '512',
    )
    .option('--tile-overlap <px>', 'overlap of neighbouring tiles, blended smoothly', '32')
    .option(
      '--keep-low-frequencies <fraction>',
      'take each output frame’s frequencies below this fraction of the detection cutoff from the input (removes a per-phase brightness bias; 0: off)',
      '0.1',
    )
    .option('--reconstruct <file>', 'also write the Wiener SR image of each denoised cycle (.mrc or .tif)')
    .option('--wiener <w>', 'Wiener parameter of --reconstruct (and of the modulation check)', '0.05')
    .option('--device <device>', 'engine device: cpu | cuda | cuda:N', 'cpu')
    .option('--overwrite', 'replace the output files when they exist')
    .option(
      '--json',
      'print per cycle the fit, fallbacks, reliability, modulation kept, frame means and timings as JSON',
    )
    .action((input: string, o: SimCliOptions) => runSim(program, input, o));
}
