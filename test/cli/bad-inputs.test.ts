// Every command as a new user runs it, under a memory cap (`ulimit -v`): the README's examples on
// tiny simulated data, then a table of bad inputs. A bad input must give exit 1, one "rdl: …"
// line that names the file (no stack trace), and no output file; nothing non-finite is printed or
// written with exit 0; the file's own pixel size is used; outputs are never silently replaced.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeMrc } from '../../src/io/mrc.js';
import { readImageStack, writeImageStack } from '../../src/io/stack.js';
import { readTiffInfo } from '../../src/io/tiff.js';
import { DENOISER_SMALL, RdlDenoiser } from '../../src/models/denoiser.js';
import { DFCAN, DFCAN_SMALL } from '../../src/models/dfcan.js';
import { saveModelFolder } from '../../src/models/folder.js';
import { fixture } from '../helpers.js';
import { tempDir } from '../io/tmp.js';
import { type CliRun, isOneLineError, lastLine, pool, rdlCapped } from './capped.js';

const tmp = tempDir('bad-inputs');
const cwd = tmp.dir;
const at = (p: string) => join(cwd, p);
const run = (...args: string[]) => rdlCapped(args, { cwd });
const RAW = 'sim/microtubules_100ph.mrc';
const PARAMS = 'sim/sim_parameters.json';

describe('every command on good and bad inputs, under ulimit -v', { timeout: 240_000 }, () => {
  let simulate: CliRun;
  before(async () => {
    simulate = await run('simulate', '-o', 'sim', '--size', '32', '--cycles', '2', '--photons', '100');
    assert.equal(simulate.status, 0, simulate.stderr);
    const raw = readImageStack(at(RAW));
    const plane = raw.width * raw.height;
    const cycle = Float32Array.from(raw.data.subarray(0, 9 * plane) as Uint16Array);
    const dims = { width: 32, height: 32, frames: 9 };
    writeImageStack(at('ok.tif'), cycle, dims);
    writeImageStack(at('px08.tif'), cycle, dims, { pixelSizeUm: { x: 0.08, y: 0.08 } });
    const nan = Float32Array.from(cycle);
    for (let k = 0; k < 100; k++) nan[3 * plane + 37 + 5 * k] = Number.NaN;
    writeImageStack(at('nan.tif'), nan, dims);
    const inf = Float32Array.from(cycle);
    inf[2 * plane + 7 * 32 + 9] = Number.POSITIVE_INFINITY;
    writeImageStack(at('inf.mrc'), inf, dims);
    writeImageStack(at('flat.tif'), new Float32Array(9 * plane).fill(5), dims);
    writeImageStack(at('eight.tif'), cycle.subarray(0, 8 * plane), { ...dims, frames: 8 });
    writeImageStack(
      at('tiny.tif'),
      Float32Array.from({ length: 36 }, (_, i) => i),
      { width: 2, height: 2, frames: 9 },
    );
    writeFileSync(at('renamed.tif'), readFileSync(at(RAW)));
    writeFileSync(at('empty.tif'), '');
    writeFileSync(at('truncated.mrc'), readFileSync(at(RAW)).subarray(0, 3000));
    writeFileSync(at('existing.tif'), 'keep me');
    // A measured-style radial OTF: 257 samples, 0.0312 cycles/µm apart (stored as the cell length).
    const otf = Float32Array.from({ length: 2 * 257 }, (_, i) => (i % 2 ? 0 : Math.max(0, 1 - i / 400)));
    writeMrc(
      at('otf.mrc'),
      otf,
      { nx: 257, ny: 1, nz: 1 },
      { mode: 4, pixelSizeUm: { x: 0.0312 / 1e4 / 257, y: 1e-4, z: 1e-4 } },
    );
    const dfcan = new DFCAN({ ...DFCAN_SMALL }, { seed: 1 });
    saveModelFolder(dfcan, at('dfcan'));
    dfcan.dispose();
    const dn = new RdlDenoiser({ ...DENOISER_SMALL, channels: 3 }, { seed: 2 });
    saveModelFolder(dn, at('dn'));
    dn.dispose();
    // A training data set with a NaN in one sample.
    for (const d of ['train', 'train_gt', 'val', 'val_gt']) mkdirSync(at(`data/${d}`), { recursive: true });
    writeImageStack(at('data/train/1.tif'), nan, dims);
    writeImageStack(at('data/val/1.tif'), cycle, dims);
    for (const d of ['train_gt', 'val_gt'])
      writeImageStack(at(`data/${d}/1.tif`), new Float32Array(64 * 64).fill(1), { width: 64, height: 64, frames: 1 });
  });
  after(() => {});

  it('the README examples work and say which pixel size they used', async () => {
    const [info, est, rec, mcnr, sr] = await pool(
      [
        ['info', RAW],
        ['estimate', RAW, '--params', PARAMS, '--json'],
        ['reconstruct', RAW, '--params', PARAMS, '-o', 'rec.tif'],
        ['metrics', RAW],
        ['predict', 'sr', RAW, '--model', 'dfcan', '-o', 'sr.tif'],
      ],
      2,
      (a) => run(...a),
    );
    for (const r of [info, est, rec, mcnr, sr]) assert.equal(r!.status, 0, `${r!.args.join(' ')}: ${r!.stderr}`);
    assert.match(info!.stdout, /pixel size: x 0\.0626 µm, y 0\.0626 µm\n/);
    assert.doesNotMatch(info!.stdout, /, z /, 'a time-lapse MRC states no z spacing');
    const fit = JSON.parse(est!.stdout);
    assert.ok(fit.orientations.every((o: { phaseRad: number }) => Number.isFinite(o.phaseRad)));
    assert.match(est!.stderr, /pixel size 0\.0626 µm \(--params sim\/sim_parameters\.json\)/);
    // Time-lapse outputs: ImageJ frames (T), not slices (Z); spacing and pixel size as predict sr writes them.
    for (const f of ['rec.tif', 'sr.tif']) {
      const t = readTiffInfo(at(f));
      assert.equal(t.imagej?.frames, 2, `${f}: two cycles are two time points`);
      assert.equal(t.imagej?.slices, 1);
      assert.ok(Math.abs((t.pixelSizeUm?.x ?? 0) - 0.0313) < 1e-6, `${f}: ${t.pixelSizeUm?.x}`);
      assert.ok(Math.abs((t.imagej?.spacing ?? 0) - 0.0313) < 1e-6, `${f}: spacing ${t.imagej?.spacing}`);
    }
    assert.match(mcnr!.stdout, /grade\s+(inadequate|low|good|excellent)/);
    assert.doesNotMatch(mcnr!.stdout, /NaN|Infinity/);
    const cmp = await run('metrics', 'sim/microtubules_100ph_sr_gt.tif', 'rec.tif');
    assert.equal(cmp.status, 0, cmp.stderr);
    assert.match(cmp.stdout, /resolution\s+reference [\d.]+ µm, test [\d.]+ µm\n/, 'resolution in words, not JSON');
    assert.doesNotMatch(cmp.stdout, /NaN|Infinity|\{/);
  });

  it("uses the file's own pixel size, warns when --pixel-um disagrees, and says which it used", async () => {
    const [est, rec, sr, srGiven] = await pool(
      [
        ['estimate', 'px08.tif', '--na', '1.49'],
        ['reconstruct', 'px08.tif', '--na', '1.49', '-o', 'rec08.tif'],
        ['predict', 'sr', 'px08.tif', '--model', 'dfcan', '-o', 'sr08.tif'],
        ['predict', 'sr', 'px08.tif', '--model', 'dfcan', '-o', 'sr08b.tif', '--pixel-um', '0.1'],
      ],
      2,
      (a) => run(...a),
    );
    for (const r of [est, rec, sr, srGiven]) assert.equal(r!.status, 0, `${r!.args.join(' ')}: ${r!.stderr}`);
    assert.match(est!.stderr, /rdl estimate: pixel size 0\.08 µm \(from px08\.tif\)/);
    assert.ok(Math.abs((readTiffInfo(at('rec08.tif')).pixelSizeUm?.x ?? 0) - 0.04) < 1e-6, 'reconstruct: 0.08 / 2');
    assert.ok(Math.abs((readTiffInfo(at('sr08.tif')).pixelSizeUm?.x ?? 0) - 0.04) < 1e-6, 'predict sr: 0.08 / 2');
    assert.ok(
      Math.abs((readTiffInfo(at('sr08b.tif')).pixelSizeUm?.x ?? 0) - 0.05) < 1e-6,
      'predict sr: --pixel-um / 2',
    );
    assert.match(
      srGiven!.stderr,
      /warning: px08\.tif states a pixel size of 0\.08 µm; using the 0\.1 µm of --pixel-um/,
    );
  });

  // [arguments, what the message must say (a file name in it), outputs that must not appear]
  const BAD: Array<[string[], RegExp, string[]]> = [
    [['info', 'missing.tif'], /missing\.tif/, []],
    [['info', 'empty.tif'], /empty\.tif/, []],
    [['info', 'renamed.tif'], /renamed\.tif: not a TIFF file: it has an MRC header; rename it to \.mrc/, []],
    [['info', 'truncated.mrc'], /truncated\.mrc/, []],
    [['estimate', 'nan.tif', '--na', '1.49'], /nan\.tif: holds a non-finite value \(NaN at frame 3, y 1, x 5\)/, []],
    [
      ['estimate', 'inf.mrc', '--na', '1.49'],
      /inf\.mrc: holds a non-finite value \(Infinity at frame 2, y 7, x 9\)/,
      [],
    ],
    [['estimate', 'flat.tif', '--na', '1.49'], /flat\.tif: a stack with no contrast/, []],
    [['estimate', 'eight.tif', '--na', '1.49'], /eight\.tif: the stack has 8 frames, not a multiple of .*9/, []],
    [['estimate', 'tiny.tif', '--otf', 'otf.mrc'], /^rdl: tiny\.tif: images of 2×2 pixels are too small/, []],
    [['estimate', 'missing.tif'], /missing\.tif: no such file/, []],
    [['estimate', 'ok.tif', '--emission-nm', '525'], /--na N beside the --emission-nm 525 you gave/, []],
    [['reconstruct', 'nan.tif', '--na', '1.49', '-o', 'r1.tif'], /nan\.tif: holds a non-finite value/, ['r1.tif']],
    [['reconstruct', 'flat.tif', '--na', '1.49', '-o', 'r2.tif'], /flat\.tif: a stack with no contrast/, ['r2.tif']],
    [
      ['reconstruct', RAW, '--params', PARAMS, '-o', 'nodir/r.tif'],
      /cannot write nodir\/r\.tif: the folder .*nodir does not exist/,
      [],
    ],
    [['reconstruct', RAW, '--params', PARAMS, '-o', 'r.png'], /r\.png/, ['r.png']],
    [['reconstruct', RAW, '--params', PARAMS, '-o', 'existing.tif'], /existing\.tif exists; .*--overwrite/, []],
    [['reconstruct', RAW, '--params', PARAMS, '-o', RAW], /refusing to overwrite the input file/, []],
    [['metrics', 'nan.tif', 'ok.tif'], /nan\.tif: holds a non-finite value/, []],
    [['metrics', 'nan.tif'], /nan\.tif: holds a non-finite value/, []],
    [['metrics', 'ok.tif', 'tiny.tif'], /tiny\.tif and ok\.tif differ in shape: images of 2×2 vs 32×32 pixels/, []],
    [['metrics', 'flat.tif', 'ok.tif'], /flat\.tif: frame 0 has no contrast/, []],
    [['metrics', 'eight.tif'], /eight\.tif: MCNR needs raw SIM cycles of 9 frames, found 8/, []],
    [
      ['predict', 'sr', 'nan.tif', '--model', 'dfcan', '-o', 'p1.tif'],
      /nan\.tif: holds a non-finite value/,
      ['p1.tif'],
    ],
    [
      ['predict', 'sr', 'eight.tif', '--model', 'dfcan', '-o', 'p2.tif'],
      /eight\.tif: the stack has 8 frames, not a multiple of .*9/,
      ['p2.tif'],
    ],
    [['predict', 'sr', 'ok.tif', '--model', 'dfcan', '-o', 'existing.tif'], /existing\.tif exists/, []],
    // The HDF5 reader (WebAssembly) cannot get its memory under the cap: one line, and only where .h5 files are read.
    [
      ['predict', 'sr', 'ok.tif', '--model', fixture('models/dfcan.h5'), '-o', 'p3.tif'],
      /dfcan\.h5: cannot start the HDF5 reader .*ulimit -v/,
      ['p3.tif'],
    ],
    [
      ['predict', 'sim', 'nan.tif', '--sr-model', 'dfcan', '--denoise-model', 'dn', '--params', PARAMS, '-o', 's1.mrc'],
      /nan\.tif.* non-finite value/,
      ['s1.mrc'],
    ],
    [
      ['simulate', '-o', 'sim', '--size', '32', '--name', '../escape'],
      /--name: expected a plain name/,
      ['escape_100ph.mrc'],
    ],
    [
      ['simulate', '-o', 'sim', '--size', '32', '--cycles', '2', '--photons', '100'],
      /sim\/microtubules_100ph\.mrc .*exists; .*--overwrite/,
      [],
    ],
    [['train', 'sr', 'data', '-o', 'm1', '--preset', 'small', '--iterations', '1'], /data\/train\/1\.tif/, ['m1']],
    [['train', 'denoise', 'nodata', '--sr-model', 'dfcan', '--params', PARAMS, '-o', 'm2'], /nodata/, ['m2']],
  ];

  it(`${BAD.length} bad inputs: exit 1, one line naming the file, no output`, async () => {
    const before = readFileSync(at('existing.tif'), 'utf8');
    const rawBefore = statSync(at(RAW)).mtimeMs;
    const runs = await pool(BAD, 2, ([args]) => run(...args));
    const problems: string[] = [];
    BAD.forEach(([args, message, outputs], i) => {
      const r = runs[i]!;
      const what = `rdl ${args.join(' ')}`;
      if (r.status !== 1) problems.push(`${what}: exit ${r.status ?? r.signal}, expected 1\n${r.stderr}`);
      else if (!isOneLineError(r.stderr)) problems.push(`${what}: not a one-line error:\n${r.stderr}`);
      else if (!message.test(lastLine(r.stderr)))
        problems.push(`${what}: message ${lastLine(r.stderr)}\n  expected ${message}`);
      if (/NaN|Infinity/.test(r.stdout)) problems.push(`${what}: printed a non-finite value: ${r.stdout}`);
      for (const o of outputs) if (existsSync(at(o))) problems.push(`${what}: wrote ${o}`);
    });
    assert.deepEqual(problems, []);
    assert.equal(readFileSync(at('existing.tif'), 'utf8'), before, 'an existing output is not replaced');
    assert.equal(statSync(at(RAW)).mtimeMs, rawBefore, 'the input is untouched');
    assert.ok(!existsSync(join(cwd, 'escape_100ph.mrc')) && !existsSync(join(cwd, '..', 'escape_100ph.mrc')));
  });

  it('--overwrite replaces an output on purpose', async () => {
    const r = await run('reconstruct', RAW, '--params', PARAMS, '-o', 'existing.tif', '--overwrite');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readImageStack(at('existing.tif')).frames, 2);
  });

  it('info tells an OTF (frequency steps) from an image (pixel size)', async () => {
    const r = await run('info', 'otf.mrc');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /radial OTF, in frequency space/);
    assert.match(r.stdout, /freq\. step: x 0\.0312 cycles\/µm/);
    assert.doesNotMatch(r.stdout, /pixel size/);
  });
});
