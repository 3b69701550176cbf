// `rdl predict sr <raw> --model <folder|weights.h5> -o <out>`: the SR inference module (DFCAN)
// alone on every SIM cycle of a raw stack.
import type { Command } from 'commander';
import { ParameterError } from '../../errors.js';
import { openStackWriter } from '../../io/stack-writer.js';
import { DFCAN } from '../../models/dfcan.js';
import { loadModel } from '../../models/folder.js';
import { predictSr } from '../../pipelines/predict-sr.js';
import {
  checkOutputFile,
  naming,
  readRealStack,
  requireCycles,
  requireFiniteResult,
  requireInputFile,
} from '../inputs.js';
import { applyGlobalOptions, positiveOption } from '../options.js';
import { choosePixelSize } from '../pixel-size.js';
import { registerPredictSim } from './predict-sim.js';

interface SrOptions {
  model: string;
  output: string;
  dtype: string;
  pixelUm?: string;
  overwrite?: boolean;
}

async function runSr(program: Command, input: string, o: SrOptions): Promise<void> {
  applyGlobalOptions(program);
  requireInputFile(input); // a missing input first, before any complaint about the options
  if (o.dtype !== 'float32' && o.dtype !== 'uint16') throw new ParameterError('--dtype', 'float32 or uint16', o.dtype);
  const givenUm = o.pixelUm === undefined ? undefined : positiveOption('--pixel-um', o.pixelUm);
  checkOutputFile(o.output, { overwrite: o.overwrite, inputs: [input, o.model] });
  const raw = readRealStack(input, 'raw SIM frames');
  const model = await loadModel(o.model, { architecture: 'dfcan' });
  try {
    if (!(model instanceof DFCAN)) throw new ParameterError('--model', 'a DFCAN model', o.model);
    const per = model.config.inChannels;
    const cycles = requireCycles(input, raw.frames, per, "the SR model's input frames");
    const um = choosePixelSize({
      command: 'rdl predict sr',
      input,
      fileUm: raw.pixelSizeUm?.x,
      given: givenUm === undefined ? null : { um: givenUm, by: '--pixel-um' },
      fallback: null,
    });
    const s = model.config.scale;
    // Opened before the work: extension, folder and a temporary file beside the output.
    const writer = openStackWriter(
      o.output,
      { width: raw.width * s, height: raw.height * s, frames: cycles },
      o.dtype === 'uint16' ? 'uint16' : 'float32',
      {
        pixelSizeUm: um === null ? null : { x: um / s, y: um / s, z: null },
        inputs: [input, o.model],
        timeLapse: true,
      },
    );
    try {
      const t0 = performance.now();
      const sr = naming(input, () =>
        predictSr(model, raw, (done, total) => {
          const sec = (performance.now() - t0) / 1000;
          process.stderr.write(
            `\rcycle ${done}/${total}  ${(done / sec).toFixed(2)} cycles/s  ETA ${((total - done) * (sec / done)).toFixed(0)} s `,
          );
        }),
      );
      process.stderr.write('\n');
      requireFiniteResult(`the SR output for ${input}`, sr.data, sr);
      // uint16 output spans the full range: the normalized [0, 1] image times 65535.
      const data = o.dtype === 'uint16' ? Uint16Array.from(sr.data, (v) => Math.round(v * 65535)) : sr.data;
      writer.write(data);
      writer.commit();
      process.stderr.write(`wrote ${o.output}: ${sr.cycles} × ${sr.width} × ${sr.height} ${o.dtype}\n`);
    } finally {
      writer.abort();
    }
  } finally {
    model.dispose();
  }
}

export function registerPredict(program: Command): void {
  const predict = program.command('predict').description('run a trained network on data');
  predict
    .command('sr <raw>')
    .description(
      'super-resolve each SIM cycle (9 raw frames) of an MRC/TIFF stack with the SR inference module (DFCAN)',
    )
    .requiredOption(
      '--model <path>',
      'a model folder (config.json + weights.safetensors) or a reference Keras .h5 file',
    )
    .requiredOption('-o, --output <file>', 'output stack (.mrc or .tif), one SR image per cycle')
    .option('--dtype <type>', 'output type: float32 (values in [0, 1]) or uint16 (0 … 65535)', 'float32')
    .option('--pixel-um <um>', "raw pixel size in µm (default: the input file's; the output's is 1/scale of it)")
    .option('--overwrite', 'replace the output file when it exists')
    .action((input: string, o: SrOptions) => runSr(program, input, o));
  registerPredictSim(predict, program);
}
