// `rdl predict sim`: tiles, the low-frequency correction, model kinds, formats and headers kept,
// tiled vs whole image, and bad inputs (one clear error, nothing written).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { readMrcHeader } from '../../src/io/mrc.js';
import { readImageStack, writeImageStack } from '../../src/io/stack.js';
import { DENOISER_REFERENCE, DENOISER_SMALL, RdlDenoiser } from '../../src/models/denoiser.js';
import { DFCAN, DFCAN_REFERENCE, DFCAN_SMALL } from '../../src/models/dfcan.js';
import { loadModelFolder, saveModelFolder } from '../../src/models/folder.js';
import { saveKerasWeights } from '../../src/models/keras.js';
import { RCAN3D, RCAN3D_SMALL } from '../../src/models/rcan3d.js';
import { denoiseCycle, keepLowFrequencies } from '../../src/pipelines/rdl-cycle.js';
import { cutTile, planTiles, TileBlender } from '../../src/pipelines/tiles.js';
import { otfTableForGrid, syntheticRadialOtf } from '../../src/sim/otf.js';
import { preset, resolveParameters } from '../../src/sim/params.js';
import { simulateSample } from '../../src/sim/simulate/sample.js';
import { runCli } from '../cli-run.js';
import { assertClose } from '../helpers.js';
import { tempDir } from '../io/tmp.js';

const tmp = tempDir('predict-sim');

const cli = runCli;

/** A simulated 128² time-lapse of `cycles` cycles and its parameters file, made once per name. */
async function simulated(
  name: string,
  cycles: number,
  size = 128,
): Promise<{ raw: string; params: string; gt: string }> {
  const dir = tmp.file(name);
  if (!existsSync(dir)) {
    const r = await cli(
      'simulate',
      '-o',
      dir,
      '--size',
      String(size),
      '--cycles',
      String(cycles),
      '--photons',
      '40',
      '--seed',
      '5',
    );
    assert.equal(r.code, 0, r.err);
  }
  const files = readdirSync(dir);
  const raw = files.find((f) => /_40ph\.mrc$/.test(f));
  const gt = files.find((f) => /_gt\.mrc$/.test(f));
  assert.ok(raw && gt, `simulate wrote ${files.join(', ')}`);
  return { raw: `${dir}/${raw}`, params: `${dir}/sim_parameters.json`, gt: `${dir}/${gt}` };
}

/** Small random models (what they compute does not matter for format and plumbing tests). */
function smallModels(): { sr: string; dn: string } {
  const sr = tmp.file('small-sr');
  const dn = tmp.file('small-dn');
  if (!existsSync(sr)) {
    saveModelFolder(new DFCAN(DFCAN_SMALL, { seed: 1 }), sr);
    saveModelFolder(new RdlDenoiser({ ...DENOISER_SMALL, channels: 3 }, { seed: 2 }), dn);
  }
  return { sr, dn };
}

test('tiles cover the image; blending constant tiles gives the constant and a single tile is the whole image', () => {
  const tiles = planTiles(300, 200, 128, 16);
  const covered = new Uint8Array(300 * 200);
  for (const t of tiles) {
    assert.ok(t.x >= 0 && t.y >= 0 && t.x + t.width <= 300 && t.y + t.height <= 200);
    for (let y = t.y; y < t.y + t.height; y++) for (let x = t.x; x < t.x + t.width; x++) covered[y * 300 + x] = 1;
  }
  assert.ok(
    covered.every((v) => v === 1),
    'every pixel is in a tile',
  );
  // Neighbouring tiles overlap by at least the requested overlap (less 2 px of even rounding).
  const xs = [...new Set(tiles.map((t) => t.x))].sort((a, b) => a - b);
  for (let i = 1; i < xs.length; i++) assert.ok(xs[i - 1]! + 128 - xs[i]! >= 14, `overlap at x ${xs[i]}`);

  // A ramp image cut into tiles and blended back is unchanged (weights sum to 1 everywhere).
  const image = Float32Array.from({ length: 2 * 300 * 200 }, (_, i) => (i % 977) / 7);
  const blend = new TileBlender(2, 300, 200, 1, 16);
  for (const t of tiles) blend.add(t, cutTile(image, 2, 300, 200, t));
  assertClose(blend.result(), image, 1e-3, 1e-6, 'blended tiles');

  assert.deepEqual(planTiles(100, 80, 128, 16), [{ x: 0, y: 0, width: 100, height: 80 }]);
  assert.throws(() => planTiles(100, 80, 127, 16), /--tile/);
  assert.throws(() => planTiles(100, 80, 128, 64), /--tile-overlap/);
});

test('keepLowFrequencies: each frame’s mean (and its lowest frequencies) come from the input, fine detail from the output', () => {
  const p = { ...preset('setup0'), pixelSizeUm: 0.0626 };
  const n = 64;
  const input = Float32Array.from({ length: 2 * n * n }, (_, i) => 100 + 20 * Math.sin(i / 300) + ((i * 31) % 7));
  // The output: the input's fine detail plus a brightness bias of +10 % and −5 %.
  const output = Float32Array.from(input, (v, i) => v * (i < n * n ? 1.1 : 0.95));
  const fixed = keepLowFrequencies(output, input, n, n, p, {
    keepLowFrequencies: 0.1,
    cutoffPerUm: 5.7,
    device: 'cpu',
  });
  for (let f = 0; f < 2; f++) {
    const mean = (x: Float32Array) => x.subarray(f * n * n, (f + 1) * n * n).reduce((a, b) => a + b, 0) / (n * n);
    assert.ok(Math.abs(mean(fixed) / mean(input) - 1) < 1e-5, `frame ${f}: mean ${mean(fixed)} vs ${mean(input)}`);
    assert.ok(Math.abs(mean(output) / mean(input) - 1) > 0.04, 'the bias was there before');
  }
  // Fine detail (pixel-to-pixel differences) stays the output's, not the input's.
  const d = (x: Float32Array, i: number) => x[i + 1]! - x[i]!;
  let fromOutput = 0;
  for (let i = 0; i < n * n - 1; i++)
    fromOutput += Math.abs(d(fixed, i) - d(output, i)) < Math.abs(d(fixed, i) - d(input, i)) + 1e-3 ? 1 : 0;
  assert.ok(fromOutput / (n * n) > 0.9, `fine detail from the output in ${fromOutput} of ${n * n} pixels`);
});

test('rdl predict sim: MRC in → MRC out with the input header, dimensions and frame count; --json per cycle; --reconstruct', async () => {
  const s = await simulated('lapse', 2);
  const m = smallModels();
  const out = tmp.file('out.mrc');
  const rec = tmp.file('rec.tif');
  const r = await cli(
    'predict',
    'sim',
    s.raw,
    '--sr-model',
    m.sr,
    '--denoise-model',
    m.dn,
    '--params',
    s.params,
    '-o',
    out,
    '--reconstruct',
    rec,
    '--json',
  );
  assert.equal(r.code, 0, r.err);
  const input = readImageStack(s.raw);
  const output = readImageStack(out);
  assert.equal(output.dtype, 'uint16');
  assert.deepEqual([output.width, output.height, output.frames], [input.width, input.height, input.frames]);
  // The input's header is kept (labels, extended header length, pixel size); only size, mode and statistics change.
  const hIn = readMrcHeader(s.raw);
  const hOut = readMrcHeader(out);
  assert.deepEqual(hOut.labels, hIn.labels);
  assert.equal(hOut.next, hIn.next);
  assert.deepEqual(hOut.pixelSizeUm, hIn.pixelSizeUm);
  // Values on the input's scale: mean within 20 % of the input's.
  const mean = (x: ArrayLike<number>) => Array.from(x).reduce((a, b) => a + b, 0) / x.length;
  const ratio = mean(output.data as Uint16Array) / mean(input.data as ArrayLike<number>);
  assert.ok(ratio > 0.8 && ratio < 1.2, `output mean / input mean = ${ratio}`);
  const j = JSON.parse(r.out);
  assert.equal(j.cycles.length, 2);
  assert.equal(j.groups.length, 2);
  for (const c of j.cycles) {
    assert.equal(c.modulation.input.length, 3);
    assert.equal(c.modulation.output.length, 3);
    assert.equal(c.meanRatio.length, 9);
    assert.ok(c.timings.denoise > 0);
  }
  assert.ok(
    j.cycles[0].modulation.input.every((v: number) => v > 0.3),
    `input modulation ${j.cycles[0].modulation.input}`,
  );
  assert.match(r.err, /orientation 0: modulation .* in the input/);
  const sr = readImageStack(rec);
  assert.deepEqual([sr.width, sr.height, sr.frames], [2 * input.width, 2 * input.height, 2]);
});

test('rdl predict sim: TIFF in → TIFF out keeps the ImageJ axes and pixel size; --num-average fits groups on their mean', async () => {
  const s = await simulated('lapse', 2);
  const m = smallModels();
  const mrc = readImageStack(s.raw);
  const tif = tmp.file('lapse.tif');
  writeImageStack(
    tif,
    mrc.data,
    { width: mrc.width, height: mrc.height, frames: mrc.frames },
    {
      pixelSizeUm: { x: 0.0626, y: 0.0626, z: null },
    },
  );
  // Rewrite with ImageJ axes: 9 channels × 2 time points.
  const { writeTiff } = await import('../../src/io/tiff.js');
  writeTiff(
    tif,
    mrc.data as Uint16Array,
    { width: mrc.width, height: mrc.height, pages: mrc.frames },
    {
      pixelSizeUm: { x: 0.0626, y: 0.0626 },
      axes: { channels: 9, frames: 2 },
    },
  );
  const out = tmp.file('out.tif');
  const r = await cli(
    'predict',
    'sim',
    tif,
    '--sr-model',
    m.sr,
    '--denoise-model',
    m.dn,
    '--params',
    s.params,
    '-o',
    out,
    '--num-average',
    '2',
    '--dtype',
    'float32',
    '--json',
  );
  assert.equal(r.code, 0, r.err);
  const o = readImageStack(out);
  assert.equal(o.dtype, 'float32');
  assert.equal(o.frames, 18);
  assert.ok(Math.abs(o.pixelSizeUm!.x - 0.0626) < 1e-6);
  assert.deepEqual([o.tiff!.imagej!.channels, o.tiff!.imagej!.frames], [9, 2]);
  const j = JSON.parse(r.out);
  assert.deepEqual(
    j.groups.map((g: { cycles: number[] }) => g.cycles),
    [[0, 1]],
  );
});

test('reference-size Keras .h5 models give the same output as the same weights in model folders; wrong kinds are refused', async () => {
  const s = await simulated('lapse', 2);
  const sr = new DFCAN(DFCAN_REFERENCE, { seed: 4 });
  const dn = new RdlDenoiser(DENOISER_REFERENCE, { seed: 5 });
  const srH5 = tmp.file('DFCAN_Best.h5');
  const dnH5 = tmp.file('rDL_Denoiser_Best.h5');
  await saveKerasWeights(sr, srH5);
  await saveKerasWeights(dn, dnH5);
  saveModelFolder(sr, tmp.file('ref-sr'));
  saveModelFolder(dn, tmp.file('ref-dn'));
  sr.dispose();
  dn.dispose();
  // One 64² crop of a cycle keeps the reference networks quick on a CPU.
  const img = readImageStack(s.raw, { frames: [0, 9] });
  const crop = new Uint16Array(9 * 64 * 64);
  for (let f = 0; f < 9; f++)
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 64; x++)
        crop[(f * 64 + y) * 64 + x] = (img.data as Uint16Array)[(f * 128 + y + 32) * 128 + x + 32]!;
  const input = tmp.file('crop.tif');
  writeImageStack(input, crop, { width: 64, height: 64, frames: 9 }, { pixelSizeUm: { x: 0.0626, y: 0.0626 } });
  const a = tmp.file('from-h5.tif');
  const b = tmp.file('from-folder.tif');
  const args = ['--params', s.params, '--dtype', 'float32'];
  const ra = await cli('predict', 'sim', input, '--sr-model', srH5, '--denoise-model', dnH5, '-o', a, ...args);
  assert.equal(ra.code, 0, ra.err);
  const rb = await cli(
    'predict',
    'sim',
    input,
    '--sr-model',
    tmp.file('ref-sr'),
    '--denoise-model',
    tmp.file('ref-dn'),
    '-o',
    b,
    ...args,
  );
  assert.equal(rb.code, 0, rb.err);
  assertClose(
    readImageStack(a).data as Float32Array,
    readImageStack(b).data as Float32Array,
    1e-3,
    1e-5,
    '.h5 vs folder',
  );

  const refused = async (sr: string, dnm: string, pattern: RegExp) => {
    const out = tmp.file(`refused-${Math.random()}.tif`);
    const r = await cli('predict', 'sim', input, '--sr-model', sr, '--denoise-model', dnm, '-o', out, ...args);
    assert.notEqual(r.code, 0);
    assert.match(r.err, pattern);
    assert.equal(existsSync(out), false);
  };
  await refused(dnH5, dnH5, /--sr-model must be an SR model, but this file holds an rDL denoiser/);
  await refused(srH5, srH5, /--denoise-model must be an rDL denoiser, but this file holds an SR model/);
  await refused(
    tmp.file('ref-sr'),
    tmp.file('ref-sr'),
    /--denoise-model must be an rDL denoiser, but this folder holds an SR model/,
  );
  const rcan = tmp.file('rcan');
  saveModelFolder(new RCAN3D(RCAN3D_SMALL, { seed: 1 }), rcan);
  await refused(tmp.file('ref-sr'), rcan, /this folder holds a 3D light-sheet model/);
});

test('rdl predict sim: bad inputs give one clear error naming the problem and write nothing', async () => {
  const s = await simulated('lapse', 2);
  const m = smallModels();
  const dir = tmp.file('bad');
  mkdirSync(dir, { recursive: true });
  const ten = tmp.file('bad/ten-frames.tif');
  const img = readImageStack(s.raw, { frames: [0, 10] });
  writeImageStack(ten, img.data, { width: img.width, height: img.height, frames: 10 });
  const base = ['--sr-model', m.sr, '--denoise-model', m.dn, '--params', s.params];
  const cases: Array<[string[], RegExp]> = [
    [
      ['predict', 'sim', ten, ...base, '-o', `${dir}/a.tif`],
      /ten-frames\.tif: 10 frames is not a whole number of SIM cycles/,
    ],
    [['predict', 'sim', s.raw, '--sr-model', m.sr, '--denoise-model', m.dn, '-o', `${dir}/b.tif`], /OTF/],
    [['predict', 'sim', s.raw, ...base, '-o', s.raw], /refusing to overwrite the input/],
    [['predict', 'sim', s.raw, ...base, '-o', `${dir}/no-such-folder/c.tif`], /c\.tif/],
    [['predict', 'sim', s.raw, ...base, '-o', `${dir}/d.png`], /\.mrc or \.tif/],
    [['predict', 'sim', s.raw, ...base, '-o', `${dir}/e.tif`, '--tile', '31'], /--tile/],
  ];
  const before = readFileSync(s.raw);
  for (const [args, pattern] of cases) {
    const r = await cli(...args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.err, pattern, args.join(' '));
    // One error line (the only other lines say which pixel size was used), no stack trace.
    const lines = r.err.trim().split('\n');
    assert.equal(lines.filter((l) => l.startsWith('rdl: ')).length, 1, `one error line: ${r.err}`);
    assert.ok(
      lines.every((l) => l.startsWith('rdl: ') || / pixel size /.test(l)),
      r.err,
    );
  }
  // An existing output is kept unless --overwrite.
  const existing = tmp.file('existing.tif');
  writeFileSync(existing, 'keep me');
  const r = await cli('predict', 'sim', s.raw, ...base, '-o', existing);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /exists; .*--overwrite/);
  assert.equal(readFileSync(existing, 'utf8'), 'keep me');
  const replaced = await cli('predict', 'sim', s.raw, ...base, '-o', existing, '--overwrite');
  assert.equal(replaced.code, 0, replaced.err);
  assert.equal(readImageStack(existing).frames, 18);
  assert.deepEqual(readdirSync(dir), ['ten-frames.tif'], 'nothing written (not even a temporary file)');
  assert.ok(readFileSync(s.raw).equals(before), 'the input is untouched');
});

test('briefly trained small models: denoised frames beat the noisy ones against the clean frames; a swapped orientation or a wrong phase (a broken MPE) does worse; tiled and whole 512² outputs agree', async (t) => {
  // The README's training example at 64² (two 200-iteration trainings, about a minute on 2 cores).
  const d = tmp.file('trained');
  const steps: string[][] = [
    [
      'simulate',
      '-o',
      `${d}/sim-sr`,
      '--layout',
      'sr',
      '--size',
      '64',
      '--train',
      '32',
      '--val',
      '2',
      '--photons',
      '30',
      '--seed',
      '11',
    ],
    [
      'train',
      'sr',
      `${d}/sim-sr`,
      '-o',
      `${d}/sr`,
      '--preset',
      'small',
      '--patch',
      '64',
      '--iterations',
      '200',
      '--validate-every',
      '200',
      '--validate-num',
      '2',
      '--lr',
      '1e-3',
      '--batch-size',
      '2',
    ],
    [
      'simulate',
      '-o',
      `${d}/sim-dn`,
      '--layout',
      'dn',
      '--size',
      '64',
      '--train',
      '32',
      '--val',
      '2',
      '--photons',
      '30',
      '--seed',
      '12',
    ],
    [
      'train',
      'denoise',
      `${d}/sim-dn`,
      '--sr-model',
      `${d}/sr`,
      '--params',
      `${d}/sim-dn/sim_parameters.json`,
      '-o',
      `${d}/dn`,
      '--preset',
      'small',
      '--patch',
      '64',
      '--iterations',
      '200',
      '--validate-every',
      '200',
      '--validate-num',
      '2',
      '--lr',
      '1e-3',
      '--batch-size',
      '2',
    ],
  ];
  for (const args of steps) {
    const r = await cli(...args);
    assert.equal(r.code, 0, `${args.slice(0, 2).join(' ')}: ${r.err}`);
  }
  const params = resolveParameters(
    preset('setup0'),
    JSON.parse(readFileSync(`${d}/sim-dn/sim_parameters.json`, 'utf8')),
    'test',
  );
  const psnr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    let se = 0;
    for (let i = 0; i < b.length; i++) {
      lo = Math.min(lo, b[i]!);
      hi = Math.max(hi, b[i]!);
      se += (a[i]! - b[i]!) ** 2;
    }
    return 10 * Math.log10((hi - lo) ** 2 / (se / b.length));
  };

  // End to end through the CLI on a 3-cycle time-lapse of one unseen scene.
  const scene = simulateSample({
    structure: 'microtubules',
    height: 64,
    width: 64,
    params,
    seed: 100,
    photons: 30,
    cycles: 3,
  });
  const noisy = scene.noisy.toFloat32Array();
  const clean = scene.clean.add(params.backgroundCounts).toFloat32Array();
  scene.noisy.dispose();
  scene.clean.dispose();
  scene.target.dispose();
  scene.sr.dispose();
  const lapse = tmp.file('trained/lapse.mrc');
  writeImageStack(
    lapse,
    Uint16Array.from(noisy, (v) => Math.round(v)),
    { width: 64, height: 64, frames: 27 },
    {
      pixelSizeUm: { x: params.pixelSizeUm, y: params.pixelSizeUm },
    },
  );
  const out = tmp.file('trained/denoised.mrc');
  const r = await cli(
    'predict',
    'sim',
    lapse,
    '--sr-model',
    `${d}/sr`,
    '--denoise-model',
    `${d}/dn`,
    '--params',
    `${d}/sim-dn/sim_parameters.json`,
    '--dtype',
    'float32',
    '-o',
    out,
  );
  assert.equal(r.code, 0, r.err);
  const denoised = readImageStack(out).data as Float32Array;
  for (let c = 0; c < 3; c++) {
    const at = (x: Float32Array) => x.subarray(c * 9 * 64 * 64, (c + 1) * 9 * 64 * 64);
    const gain = psnr(at(denoised), clean.subarray(0, 9 * 64 * 64)) - psnr(at(noisy), clean.subarray(0, 9 * 64 * 64));
    assert.ok(gain > 3, `cycle ${c}: PSNR gain ${gain.toFixed(2)} dB against the clean frames`);
  }

  // The MPE matters: the same cycles with the true patterns, with the orientations swapped, and with
  // every phase off by π (unseen scenes, the true patterns so that the fit is not what is tested).
  const sr = loadModelFolder(`${d}/sr`) as DFCAN;
  const dn = loadModelFolder(`${d}/dn`) as RdlDenoiser;
  const otf = syntheticRadialOtf(
    { na: params.detectionNA, emissionWavelengthNm: params.emissionWavelengthNm },
    0.001,
    64,
  );
  const table = otfTableForGrid(otf, { height: 64, width: 64, pixelSizeUm: params.pixelSizeUm });
  const o = { tile: 512, overlap: 32, keepLowFrequencies: 0, cutoffPerUm: 5.7, device: 'cpu' };
  const total = { right: 0, swapped: 0, shifted: 0 };
  for (let seed = 101; seed < 105; seed++) {
    const s = simulateSample({ structure: 'microtubules', height: 64, width: 64, params, seed, photons: 30 });
    const x = s.noisy.select(0, 0).toFloat32Array();
    const truth = s.clean.add(params.backgroundCounts).toFloat32Array();
    for (const t of [s.noisy, s.clean, s.target, s.sr]) t.dispose();
    const pats = s.truth.orientations.map((q) => ({ k0PerUm: q.k0PerUm, phaseRad: q.phaseRad }));
    const run = (pt: typeof pats) =>
      psnr(denoiseCycle(x, 64, 64, pt, { sr, denoiser: dn }, params, table, o).frames, truth);
    total.right += run(pats) / 4;
    total.swapped += run([pats[1]!, pats[2]!, pats[0]!]) / 4;
    total.shifted += run(pats.map((q) => ({ ...q, phaseRad: q.phaseRad + Math.PI }))) / 4;
  }

  // Tiles: a 512² cycle whole and in 2 × 2 tiles of 288 px (overlap 32). The difference is scored
  // against what the denoiser changes (denoised − noisy), without the low-frequency step.
  const big = simulateSample({ structure: 'microtubules', height: 512, width: 512, params, seed: 200, photons: 30 });
  const bigNoisy = big.noisy.select(0, 0).toFloat32Array();
  const bigPats = big.truth.orientations.map((q) => ({ k0PerUm: q.k0PerUm, phaseRad: q.phaseRad }));
  for (const x of [big.noisy, big.clean, big.target, big.sr]) x.dispose();
  const bigTable = otfTableForGrid(otf, { height: 512, width: 512, pixelSizeUm: params.pixelSizeUm });
  const at = (tile: number) =>
    denoiseCycle(bigNoisy, 512, 512, bigPats, { sr, denoiser: dn }, params, bigTable, { ...o, tile }).frames;
  const whole = at(512);
  const tiled = at(288);
  let diff = 0;
  let change = 0;
  for (let i = 0; i < whole.length; i++) {
    diff += (tiled[i]! - whole[i]!) ** 2;
    change += (whole[i]! - bigNoisy[i]!) ** 2;
  }
  const rel = Math.sqrt(diff / change);
  t.diagnostic(`tiled vs whole 512²: RMS difference ${(100 * rel).toFixed(2)} % of the RMS change the denoiser makes`);
  assert.ok(rel < 0.05, `tiled vs whole: ${rel}`);
  sr.dispose();
  dn.dispose();
  t.diagnostic(
    `trained models, mean PSNR: true patterns ${total.right.toFixed(2)} dB, swapped ${total.swapped.toFixed(2)}, phase + π ${total.shifted.toFixed(2)}`,
  );
  assert.ok(
    total.right - total.swapped > 0.08,
    `true − swapped orientations: ${(total.right - total.swapped).toFixed(3)} dB`,
  );
  assert.ok(total.right - total.shifted > 0.15, `true − phase + π: ${(total.right - total.shifted).toFixed(3)} dB`);
});
