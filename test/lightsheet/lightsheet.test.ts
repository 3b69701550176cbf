// TiS-/SiS-rDL: the interleaving (which slices and time points go in and out) on stacks whose pages
// hold their own index, the GAR term against hand-computed values, tiled vs whole-volume
// prediction, both trainings and predictions end to end on tiny simulated volumes, and bad inputs
// (one clear error, nothing written).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tensor } from '../../src/engine/index.js';
import { readImageStack } from '../../src/io/stack.js';
import { writeTiff } from '../../src/io/tiff.js';
import { DFCAN, DFCAN_SMALL } from '../../src/models/dfcan.js';
import { saveModelFolder } from '../../src/models/folder.js';
import { saveKerasWeights } from '../../src/models/keras.js';
import { RCAN3D, RCAN3D_REFERENCE } from '../../src/models/rcan3d.js';
import { mseGar } from '../../src/nn/losses.js';
import { flipSets, predictTiled, tileStarts } from '../../src/pipelines/tiles3d.js';
import { garTerm } from '../../src/pipelines/train-volume.js';
import { cutPatch, openVolumeData } from '../../src/pipelines/volume-data.js';
import { writeLightsheetDataset } from '../../src/sim/lightsheet/dataset.js';
import { runCli } from '../cli-run.js';
import { tempDir } from '../io/tmp.js';

const tmp = tempDir('lightsheet');

const cli = runCli;

/** A stack of `pages` 16×16 pages, page p holding 100 + 10·(p + 1) (background 100). */
function numberedStack(path: string, pages: number, axes?: { slices: number; frames: number }): void {
  const data = new Uint16Array(pages * 256);
  for (let p = 0; p < pages; p++) data.fill(100 + 10 * (p + 1), p * 256, (p + 1) * 256);
  writeTiff(path, data, { width: 16, height: 16, pages }, axes ? { axes } : {});
}

/** Page numbers of each [c][z] plane of a cut patch (normalized values × scale / 10 − 1). */
function pagesOf(a: Float32Array, scale: number, planes: number): number[] {
  return Array.from({ length: planes }, (_, i) => Math.round((a[i * 64]! * scale) / 10 - 1));
}

test('SiS interleaving: even slices in, odd slices as the target, the full stack for GAR', () => {
  const f = tmp.file('sis-numbered.tif');
  numberedStack(f, 12);
  const patch = { z: 4, y: 8, x: 8 };
  const d = openVolumeData([f], 'sis', patch, 1, { background: 100 });
  // Raw stacks: the last max(8, 15%) rows are held out.
  assert.deepEqual([d.train[0]!.y0, d.train[0]!.y1, d.val[0]!.y0, d.val[0]!.y1], [0, 8, 8, 16]);
  const s = d.train[0]!.stack;
  const p = cutPatch({ region: d.train[0]!, t: 0, z: 3, y: 0, x: 0, flipY: true, flipX: false }, 'sis', patch, 1);
  assert.deepEqual(pagesOf(p.input, s.scale, 4), [3, 5, 7, 9]);
  assert.deepEqual(pagesOf(p.target, s.scale, 4), [4, 6, 8, 10]);
  assert.deepEqual(pagesOf(p.full!, s.scale, 8), [3, 4, 5, 6, 7, 8, 9, 10]);
});

test('TiS interleaving: time-major pages, even time points in as channels, odd ones as the target', () => {
  // An ImageJ hyperstack of 8 time points × 3 slices: page = z + 3·t.
  const f = tmp.file('tis-numbered.tif');
  numberedStack(f, 24, { slices: 3, frames: 8 });
  const patch = { z: 2, y: 8, x: 8 };
  const d = openVolumeData([f], 'tis', patch, 3, { background: 100 });
  const s = d.train[0]!.stack;
  assert.deepEqual([s.frames, s.depth], [8, 3]);
  const p = cutPatch({ region: d.train[0]!, t: 1, z: 1, y: 0, x: 0, flipY: false, flipX: true }, 'tis', patch, 3);
  // Channels c = t 1, 3, 5 (slices 1, 2) in; t 2, 4, 6 as the target.
  assert.deepEqual(pagesOf(p.input, s.scale, 6), [4, 5, 10, 11, 16, 17]);
  assert.deepEqual(pagesOf(p.target, s.scale, 6), [7, 8, 13, 14, 19, 20]);
  // The reference layout: a sample of 2C·Z pages without axes is read time-major the same way.
  const root = tmp.file('tis-reference');
  mkdirSync(join(root, 'train'), { recursive: true });
  numberedStack(join(root, 'train', 'a.tif'), 12);
  const r = openVolumeData([root], 'tis', patch, 3, { background: 100 });
  const rs = r.train[0]!.stack;
  assert.deepEqual([r.layout, rs.frames, rs.depth], ['reference', 6, 2]);
  const q = cutPatch({ region: r.train[0]!, t: 0, z: 0, y: 0, x: 0, flipY: false, flipX: false }, 'tis', patch, 3);
  assert.deepEqual(pagesOf(q.input, rs.scale, 6), [0, 1, 4, 5, 8, 9]);
  assert.deepEqual(pagesOf(q.target, rs.scale, 6), [2, 3, 6, 7, 10, 11]);
});

test('mse_gar and the GAR term against hand-computed values', () => {
  // residual = target − pred = [1, 0]; MSE 0.5; (residual − gar)² = [0.25, 1] → 0.625; total 1.125.
  const l = mseGar(tensor([1, 2], [2]), tensor([2, 2], [2]), tensor([0.5, 1], [2]));
  assert.ok(Math.abs(l.item() - 1.125) < 1e-6);
  l.dispose();
  // GAR = f(full)[odd slices] − f(full)[even slices]; f doubles: full slices 0, 1, 5, 9 → [2·1 − 0, 2·9 − 2·5].
  const full = tensor([0, 1, 5, 9], [1, 1, 4, 1, 1]);
  const g = garTerm({ forward: (x) => x.mul(2) }, full);
  assert.deepEqual(g.shape, [1, 1, 2, 1, 1]);
  assert.deepEqual(Array.from(g.toFloat32Array()), [2, 8]);
  g.dispose();
  full.dispose();
});

test('tiled prediction blends to the whole-volume result', () => {
  assert.deepEqual(tileStarts(10, 4, 1), [0, 3, 6]);
  assert.deepEqual(tileStarts(4, 8, 2), [0]);
  const dims = { z: 9, y: 21, x: 17 };
  const n = dims.z * dims.y * dims.x;
  const v = Float32Array.from({ length: 2 * n }, (_, i) => Math.sin(i * 0.37));
  const f = (t: Float32Array) => t.map((a) => 2 * a + 1);
  const whole = f(v);
  const tiled = predictTiled(v, 2, dims, { z: 4, y: 8, x: 8 }, { z: 1, y: 3, x: 2 }, f);
  let worst = 0;
  for (let i = 0; i < whole.length; i++) worst = Math.max(worst, Math.abs(whole[i]! - tiled[i]!));
  assert.ok(worst < 1e-5, `tiled differs from whole by ${worst}`);
  assert.deepEqual(flipSets('sis', 'pair'), [[], [2]]);
  assert.deepEqual(flipSets('tis', 'pair'), [[], [1]]);
  assert.equal(flipSets('sis', 'all').length, 8);
  assert.equal(flipSets('tis', 'all').length, 16);
});

const sim = tmp.file('sim');
const simFiles = () => {
  if (!existsSync(join(sim, 'noisy.tif'))) {
    writeLightsheetDataset(sim, { depth: 10, height: 32, width: 24, frames: 6, photons: 30, seed: 3 });
  }
  return join(sim, 'noisy.tif');
};
const quick = [
  '--preset',
  'small',
  '--iterations',
  '3',
  '--validate-every',
  '3',
  '--validate-num',
  '1',
  '--batch-size',
  '2',
];

test('SiS: train, then predict every volume of a time-lapse, tiled or whole', async () => {
  const noisy = simFiles();
  const model = tmp.file('sis-model');
  const t = await cli('train', 'sis', noisy, '-o', model, '--patch', '4,12,12', ...quick);
  assert.equal(t.code, 0, t.err);
  for (const f of ['weights.safetensors', 'config.json', 'report.html', 'checkpoint.json']) {
    assert.ok(existsSync(join(model, f)), f);
  }
  const whole = tmp.file('sis-whole.tif');
  const tiled = tmp.file('sis-tiled.tif');
  let r = await cli('predict', 'volume', noisy, '--model', model, '-o', whole, '--dtype', 'float32');
  assert.equal(r.code, 0, r.err);
  r = await cli(
    'predict',
    'volume',
    noisy,
    '--model',
    model,
    '-o',
    tiled,
    '--tile',
    '10,24,20',
    '--overlap',
    '0,16,16',
    '--dtype',
    'float32',
  );
  assert.equal(r.code, 0, r.err);
  const a = readImageStack(whole);
  const b = readImageStack(tiled);
  assert.equal(a.frames, 60);
  assert.deepEqual([a.tiff?.imagej?.slices, a.tiff?.imagej?.frames], [10, 6]);
  // Zero padding at inner tile borders and channel attention (pooled per tile) make tiles close to,
  // not equal to, the whole volume; a generous overlap keeps them within a few percent.
  let diff = 0;
  let mag = 0;
  for (let i = 0; i < a.data.length; i++) {
    diff += Math.abs((a.data[i] as number) - (b.data[i] as number));
    mag += Math.abs(a.data[i] as number);
  }
  assert.ok(diff / mag < 0.03, `tiled vs whole: relative difference ${diff / mag}`);
});

test('TiS: train with 2 time points per input, predict a time-lapse (uint16, flips all)', async () => {
  const noisy = simFiles();
  const model = tmp.file('tis-model');
  const t = await cli('train', 'tis', noisy, '-o', model, '--channels', '2', '--patch', '4,12,12', '--nsm', ...quick);
  assert.equal(t.code, 0, t.err);
  const out = tmp.file('tis.tif');
  const r = await cli('predict', 'volume', noisy, '--model', model, '-o', out, '--flips', 'all');
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /TIS-rDL/);
  const s = readImageStack(out);
  assert.equal(s.dtype, 'uint16');
  assert.deepEqual([s.frames, s.tiff?.imagej?.frames], [60, 6]);
});

test('bad inputs: one clear error, nothing written', async () => {
  const noisy = simFiles();
  const flat = tmp.file('flat.tif');
  writeTiff(flat, new Uint16Array(16 * 16).fill(120), { width: 16, height: 16, pages: 1 });
  const mdir = tmp.file('never');
  // A 2D image for SiS training; a single volume for TiS (too few time points).
  let r = await cli('train', 'sis', flat, '-o', mdir, '--patch', '4,8,8', ...quick);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /flat\.tif: SiS needs 2 × 4 slices.*found 1 slice \(a 2D image\)/);
  r = await cli('train', 'tis', join(sim, 'clean.tif'), '-o', mdir, '--patch', '4,8,8', '--channels', '4', ...quick);
  assert.match(r.err, /TiS with --channels 4 needs 8 time points .* found 6/);
  r = await cli('train', 'sis', noisy, '-o', mdir, '--patch', '20,8,8', ...quick);
  assert.match(r.err, /found 10 slices; lower --patch Z/);
  assert.ok(!existsSync(mdir), 'no model folder for a failed start');
  // A folder of time points with mismatched sizes.
  const folder = tmp.file('mismatch');
  mkdirSync(folder);
  writeTiff(join(folder, 't0.tif'), new Uint16Array(4 * 256), { width: 16, height: 16, pages: 4 });
  writeTiff(join(folder, 't1.tif'), new Uint16Array(5 * 256), { width: 16, height: 16, pages: 5 });
  r = await cli('train', 'tis', folder, '-o', mdir, '--patch', '2,8,8', '--channels', '1', ...quick);
  assert.match(r.err, /t1\.tif: 5×16×16 \(Z×Y×X\) differs from 4×16×16/);
  const out = tmp.file('bad-out.tif');
  r = await cli('predict', 'volume', folder, '--model', tmp.file('sis-model'), '-o', out);
  if (existsSync(tmp.file('sis-model'))) assert.match(r.err, /t1\.tif: 5×16×16 \(Z×Y×X\) differs/);
  // A 2D model; a 2D image; a TiS model on too few time points.
  const dfcan = new DFCAN(DFCAN_SMALL, { seed: 1 });
  saveModelFolder(dfcan, tmp.file('dfcan'));
  dfcan.dispose();
  r = await cli('predict', 'volume', noisy, '--model', tmp.file('dfcan'), '-o', out);
  assert.match(r.err, /--model must be a 3D light-sheet model, but this folder holds an SR model/);
  if (existsSync(tmp.file('sis-model'))) {
    r = await cli('predict', 'volume', flat, '--model', tmp.file('sis-model'), '-o', out);
    assert.match(r.err, /flat\.tif: 1 slice per volume \(a 2D image\)/);
  }
  if (existsSync(tmp.file('tis-model'))) {
    r = await cli('predict', 'volume', join(folder, 't0.tif'), '--model', tmp.file('tis-model'), '-o', out);
    assert.match(r.err, /this TiS model takes 2 time points at once, found 1/);
  }
  assert.ok(!existsSync(out));
  assert.deepEqual(
    readdirSync(tmp.dir).filter((n) => n.startsWith('bad-out')),
    [],
  );
});

test('a reference SiS RCAN3D Keras .h5 predicts a volume', async () => {
  const noisy = simFiles();
  const h5 = tmp.file('rcan3d-sis.h5');
  const m = new RCAN3D({ ...RCAN3D_REFERENCE, channels: 1 }, { seed: 2 });
  await saveKerasWeights(m, h5);
  m.dispose();
  const out = tmp.file('h5-out.tif');
  const r = await cli('predict', 'volume', noisy, '--model', h5, '-o', out, '--flips', 'none');
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /SIS-rDL/);
  assert.equal(readImageStack(out).frames, 60);
});
