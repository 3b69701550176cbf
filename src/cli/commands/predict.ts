// `rdl predict sr <raw> --model <folder|weights.h5> -o <out>`: the SR inference module (DFCAN)
// alone on every SIM cycle of a raw stack.
import type { Command } from 'commander';
import { ParameterError } from '../../errors.js';
import { readImageStack, writeImageStack } from '../../io/stack.js';
import { DFCAN } from '../../models/dfcan.js';
import { loadModel } from '../../models/folder.js';
import { predictSr } from '../../pipelines/predict-sr.js';
import { applyGlobalOptions } from '../options.js';

interface SrOptions {
  model: string;
  output: string;
  dtype: string;
}

async function runSr(program: Command, input: string, o: SrOptions): Promise<void> {
  applyGlobalOptions(program);
  if (o.dtype !== 'float32' && o.dtype !== 'uint16') throw new ParameterError('--dtype', 'float32 or uint16', o.dtype);
  const raw = readImageStack(input);
  const model = await loadModel(o.model, { architecture: 'dfcan' });
  try {
    if (!(model instanceof DFCAN)) throw new ParameterError('--model', 'a DFCAN model', o.model);
    const t0 = performance.now();
    const sr = predictSr(model, raw, (done, total) => {
      const s = (performance.now() - t0) / 1000;
      process.stderr.write(
        `\rcycle ${done}/${total}  ${(done / s).toFixed(2)} cycles/s  ETA ${((total - done) * (s / done)).toFixed(0)} s `,
      );
    });
    process.stderr.write('\n');
    // uint16 output spans the full range: the normalized [0, 1] image times 65535.
    const data = o.dtype === 'uint16' ? Uint16Array.from(sr.data, (v) => Math.round(v * 65535)) : sr.data;
    const px = raw.pixelSizeUm;
    const s = model.config.scale;
    writeImageStack(
      o.output,
      data,
      { width: sr.width, height: sr.height, frames: sr.cycles },
      { pixelSizeUm: px ? { x: px.x / s, y: px.y / s, z: px.z } : null, inputs: [input, o.model] },
    );
    process.stderr.write(`wrote ${o.output}: ${sr.cycles} × ${sr.width} × ${sr.height} ${o.dtype}\n`);
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
    .action((input: string, o: SrOptions) => runSr(program, input, o));
}
