// `rdl predict sr` end to end, and `rdl models --json`, through the CLI entry point.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noGrad, tensor, tidy } from '../../src/engine/index.js';
import { readImageStack, writeImageStack } from '../../src/io/stack.js';
import { DFCAN, DFCAN_SMALL } from '../../src/models/dfcan.js';
import { saveModelFolder } from '../../src/models/folder.js';
import { saveKerasWeights } from '../../src/models/keras.js';
import { runCli } from '../cli-run.js';
import { assertClose } from '../helpers.js';
import { tempDir } from '../io/tmp.js';

const tmp = tempDir('predict-sr');

const cli = runCli;

test('rdl models --json lists the seven reference networks with the Keras parameter counts', async () => {
  const { code, out } = await cli('models', '--json');
  assert.equal(code, 0);
  const list = JSON.parse(out) as Array<{ name: string; parameters: number }>;
  assert.deepEqual(
    list.map((m) => [m.name, m.parameters]),
    [
      ['dfcan', 1935361],
      ['rdl-denoiser', 4743619],
      ['rdl-denoiser-nsm', 4780549],
      ['rcan3d-tis', 3805632],
      ['rcan3d-sis', 3779709],
      ['rcan3d-nsm-tis', 3812610],
      ['rcan3d-nsm-sis', 3781503],
    ],
  );
});

test('rdl predict sr: each 9-frame cycle → one normalized 2× image, from a model folder; a .h5 of another size is refused', async () => {
  const model = new DFCAN({ ...DFCAN_SMALL, spectrumSize: 24 }, { seed: 3 });
  const folder = tmp.file('model');
  saveModelFolder(model, folder);
  // 2 cycles of 9 frames, 24 × 20 pixels, uint16 counts.
  const w = 24;
  const h = 20;
  const raw = Uint16Array.from({ length: 18 * w * h }, (_, i) => 100 + ((i * 7919) % 3000));
  const input = tmp.file('raw.tif');
  writeImageStack(input, raw, { width: w, height: h, frames: 18 }, { pixelSizeUm: { x: 0.0626, y: 0.0626 } });

  const out = tmp.file('sr.tif');
  const r = await cli('predict', 'sr', input, '--model', folder, '-o', out);
  assert.equal(r.code, 0);
  const sr = readImageStack(out);
  assert.deepEqual([sr.frames, sr.height, sr.width, sr.dtype], [2, 40, 48, 'float32']);
  assert.ok(Math.abs((sr.pixelSizeUm?.x ?? 0) - 0.0313) < 1e-6, 'the SR pixel is half the raw pixel');

  // The same by hand for the second cycle: min–max normalize the 9 frames, DFCAN, min–max normalize.
  const expected = noGrad(() =>
    tidy(() => {
      const x = tensor(Float32Array.from(raw.subarray(9 * w * h)), [1, 9, h, w]);
      const xn = x.sub(x.min()).div(x.max().sub(x.min()).add(1e-7));
      const y = model.forward(xn);
      return y.sub(y.min()).div(y.max().sub(y.min()).add(1e-7)).toFloat32Array();
    }),
  );
  assertClose((sr.data as Float32Array).subarray(40 * 48), expected, 1e-5, 0, 'second cycle');

  const h5 = tmp.file('dfcan.h5');
  await saveKerasWeights(model, h5);
  const out16 = tmp.file('sr16.tif');
  // A .h5 file is read as the reference's DFCAN configuration: this small one does not fit.
  const bad = await cli('predict', 'sr', input, '--model', h5, '-o', out16, '--dtype', 'uint16');
  assert.equal(bad.code, 1);
  const out2 = await cli('predict', 'sr', input, '--model', folder, '-o', out16, '--dtype', 'uint16');
  assert.equal(out2.code, 0);
  const sr16 = readImageStack(out16);
  assert.equal(sr16.dtype, 'uint16');
  assert.equal(Math.max(...(sr16.data as Uint16Array)), 65535);
  model.dispose();
});

test('rdl predict sr refuses a stack that is not whole cycles', async () => {
  const input = tmp.file('odd.tif');
  writeImageStack(input, new Uint16Array(10 * 24 * 24), { width: 24, height: 24, frames: 10 });
  const model = new DFCAN({ ...DFCAN_SMALL, spectrumSize: 24 }, { seed: 3 });
  const folder = tmp.file('model2');
  saveModelFolder(model, folder);
  model.dispose();
  const r = await cli('predict', 'sr', input, '--model', folder, '-o', tmp.file('x.tif'));
  assert.equal(r.code, 1);
});
