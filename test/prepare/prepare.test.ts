// `rdl prepare sr|dn` on simulated BioSR cells: every input patch paired with its own target after
// every augmentation, the same files for the same seed, cells kept apart by the split, background
// patches rejected, bad cells named (and skipped with --skip-bad), the output written whole or not at all.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RdlError } from '../../src/errors.js';
import { readImageStack, writeImageStack } from '../../src/io/stack.js';
import { type PrepareJob, prepareDataset, type SampleRecord } from '../../src/pipelines/prepare.js';
import { checkCell, listCells, parseLevels } from '../../src/pipelines/prepare-cells.js';
import {
  foregroundFraction,
  foregroundThreshold,
  meanFrames,
  transformCycle,
  transformPlanes,
} from '../../src/pipelines/prepare-patches.js';
import { writeDataset } from '../../src/sim/simulate/dataset.js';
import { simulatorParameters } from '../../src/sim/simulate/optics.js';
import { DEVICE, rdl } from '../helpers.js';
import { tempDir } from '../io/tmp.js';

const tmp = tempDir('prepare');
const acq = join(tmp.dir, 'acq');
writeDataset({
  root: acq,
  name: 'microtubules',
  layout: 'biosr',
  structure: 'microtubules',
  size: 64,
  params: simulatorParameters(),
  seed: 2,
  photons: [40, 20],
  cells: 4,
  device: DEVICE,
});
const cellDir = (i: number) => join(acq, 'microtubules', `Cell_00${i}`);

let n = 0;
function job(task: 'sr' | 'dn', over: Partial<PrepareJob> = {}): PrepareJob {
  return {
    task,
    acquisitions: acq,
    outDir: join(tmp.dir, `out${++n}`),
    patch: 32,
    count: 24,
    valFraction: 0.25,
    seed: 7,
    levels: 'all',
    minForeground: 0.01,
    augment: true,
    frameOrder: 'orientation-major',
    skipBad: false,
    ...over,
  };
}

function manifest(dir: string): { samples: SampleRecord[] } {
  return JSON.parse(readFileSync(join(dir, 'prepare.json'), 'utf8'));
}

const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i] as number;
    mb += b[i] as number;
  }
  ma /= a.length;
  mb /= b.length;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) - ma;
    const y = (b[i] as number) - mb;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

/** 2×2 mean binning of an n×n image (the SR target on the raw grid). */
function bin2(a: ArrayLike<number>, n: number): Float32Array {
  const h = n / 2;
  const out = new Float32Array(h * h);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) out[(y >> 1) * h + (x >> 1)] += (a[y * n + x] as number) / 4;
  return out;
}

for (const task of ['sr', 'dn'] as const) {
  test(`${task}: every input patch is its source crop, paired with its own target after every augmentation`, () => {
    const j = job(task, { count: 40 });
    const s = prepareDataset(j);
    assert.equal(s.train + s.val, 40);
    for (const d of ['train', 'train_gt', 'val', 'val_gt']) assert.ok(existsSync(join(j.outDir, d)));
    const { samples } = manifest(j.outDir);
    const used = new Set(samples.map((r) => r.transform));
    assert.deepEqual(
      [...used].sort(),
      task === 'sr'
        ? ['antitranspose', 'flipx', 'flipy', 'id', 'rot180', 'rot270', 'rot90', 'transpose']
        : ['id', 'rot180'],
    );
    const P = 32;
    const T = task === 'sr' ? 64 : 32;
    for (const split of ['train', 'val'] as const) {
      const mine = samples.filter((r) => r.split === split);
      const inputs = mine.map((r) => readImageStack(join(j.outDir, r.input)));
      const targets = mine.map((r) => readImageStack(join(j.outDir, r.target)));
      // Widefield of the input against every target of the split (on the raw grid): its own is best.
      const wf = inputs.map((i) => meanFrames(i.data, P * P, 9));
      const tg = targets.map((t) => (task === 'sr' ? bin2(t.data, T) : meanFrames(t.data, P * P, 9)));
      mine.forEach((r, i) => {
        const input = inputs[i] as ReturnType<typeof readImageStack>;
        const target = targets[i] as ReturnType<typeof readImageStack>;
        assert.equal(input.frames, 9);
        assert.equal(input.width, P);
        assert.equal(target.width, T);
        assert.equal(target.frames, task === 'sr' ? 1 : 9);
        assert.ok(input.data instanceof Uint16Array, 'the source dtype is kept');
        const own = pearson(wf[i] as Float32Array, tg[i] as Float32Array);
        tg.forEach((other, k) => {
          if (k !== i && mine[k]?.cell === r.cell && mine[k]?.y === r.y && mine[k]?.x === r.x) return; // same place
          if (k !== i)
            assert.ok(
              own > pearson(wf[i] as Float32Array, other),
              `${r.name}: correlates better with ${mine[k]?.name}`,
            );
        });
        // Exactly the source crop under the recorded transform.
        const cell = join(acq, r.cell);
        const level = r.level === 'gt' ? 'RawSIMData_gt.mrc' : `RawSIMData_level_0${r.level}.mrc`;
        const src = readImageStack(join(cell, level));
        const crop = new Uint16Array(9 * P * P);
        for (let f = 0; f < 9; f++)
          for (let y = 0; y < P; y++)
            for (let x = 0; x < P; x++)
              crop[(f * P + y) * P + x] = src.data[f * 64 * 64 + (r.y + y) * 64 + r.x + x] as number;
        const expected =
          task === 'sr'
            ? transformPlanes(crop, 9, P, r.transform)
            : transformCycle(crop, P, r.transform, 'orientation-major');
        assert.deepEqual(f32(input.data), f32(expected), `${r.name}: not its source crop`);
        const gt = readImageStack(join(cell, task === 'sr' ? 'SIM_gt.mrc' : 'RawSIMData_gt.mrc'));
        const frames = task === 'sr' ? 1 : 9;
        const side = gt.width;
        const s0 = task === 'sr' ? 2 : 1;
        const tcrop = new Uint16Array(frames * T * T);
        for (let f = 0; f < frames; f++)
          for (let y = 0; y < T; y++)
            for (let x = 0; x < T; x++)
              tcrop[(f * T + y) * T + x] = gt.data[f * side * side + (s0 * r.y + y) * side + s0 * r.x + x] as number;
        const texp =
          task === 'sr'
            ? transformPlanes(tcrop, 1, T, r.transform)
            : transformCycle(tcrop, T, r.transform, 'orientation-major');
        assert.deepEqual(f32(target.data), f32(texp), `${r.name}: not its target crop`);
      });
    }
  });
}

test('the same seed gives the same files; another seed other crops', () => {
  const a = job('sr', { seed: 11 });
  const b = job('sr', { seed: 11 });
  const c = job('sr', { seed: 12 });
  for (const x of [a, b, c]) prepareDataset(x);
  const files = (d: string) =>
    ['train', 'train_gt', 'val', 'val_gt'].flatMap((s) => readdirSync(join(d, s)).map((f) => join(s, f))).sort();
  assert.deepEqual(files(a.outDir), files(b.outDir));
  for (const f of files(a.outDir))
    assert.ok(readFileSync(join(a.outDir, f)).equals(readFileSync(join(b.outDir, f))), f);
  const pos = (d: string) => manifest(d).samples.map((r) => `${r.cell}:${r.y},${r.x},${r.transform}`);
  assert.deepEqual(pos(a.outDir), pos(b.outDir));
  assert.notDeepEqual(pos(a.outDir), pos(c.outDir));
});

test('the split keeps cells apart; samples spread over cells and levels', () => {
  const j = job('dn', { count: 32, valFraction: 0.5 });
  const s = prepareDataset(j);
  const { samples } = manifest(j.outDir);
  const train = new Set(samples.filter((r) => r.split === 'train').map((r) => r.cell));
  const val = new Set(samples.filter((r) => r.split === 'val').map((r) => r.cell));
  assert.equal(val.size, 2);
  assert.equal(train.size, 2);
  for (const c of val) assert.ok(!train.has(c), `${c} is in both splits`);
  // File names carry the cell: no val file names a training cell.
  for (const f of readdirSync(join(j.outDir, 'val')))
    for (const c of train) assert.ok(!f.startsWith(c.replace('/', '_')));
  for (const c of s.cells)
    assert.deepEqual(Object.values(c.samples), [4, 4], `${c.cell}: ${JSON.stringify(c.samples)}`);
  assert.deepEqual(Object.keys(s.pixelSizes.raw), ['0.0626']);
  // --levels picks the levels; sr may add the high-SNR cycle.
  const one = job('sr', { levels: parseLevels('2,gt', 'sr'), count: 12 });
  prepareDataset(one);
  assert.deepEqual([...new Set(manifest(one.outDir).samples.map((r) => r.level))].sort(), [2, 'gt']);
  assert.throws(() => parseLevels('gt', 'dn'), /--levels/);
  assert.deepEqual(parseLevels('1-3,5', 'dn'), [1, 2, 3, 5]);
});

test('background-only patches are rejected by the rule, and the summary counts them', () => {
  // A cell whose left half is camera background only (offset 100 + noise), in every file.
  const dir = join(tmp.dir, 'half');
  for (let c = 1; c <= 2; c++) {
    const cell = join(dir, `Cell_${c}`);
    cpSync(cellDir(c), cell, { recursive: true });
    for (const f of ['RawSIMData_level_01.mrc', 'RawSIMData_level_02.mrc', 'RawSIMData_gt.mrc', 'SIM_gt.mrc']) {
      const s = readImageStack(join(cell, f));
      const d = s.data as Uint16Array;
      for (let i = 0; i < d.length; i++) if (i % s.width < s.width / 2) d[i] = f === 'SIM_gt.mrc' ? 0 : 100 + (i % 3);
      rmSync(join(cell, f));
      writeImageStack(join(cell, f), d, s, { pixelSizeUm: s.pixelSizeUm });
    }
  }
  for (const task of ['sr', 'dn'] as const) {
    const j = job(task, { acquisitions: dir, count: 30, valFraction: 0.5, minForeground: 0.05 });
    const s = prepareDataset(j);
    assert.ok(s.rejected > 0, `${task}: nothing rejected`);
    for (const r of manifest(j.outDir).samples) {
      // The rule, recomputed on the cell's target: at least 5% structure, so never within 2 px of the empty half.
      const gt = readImageStack(join(dir, r.cell, task === 'sr' ? 'SIM_gt.mrc' : 'RawSIMData_gt.mrc'));
      const img = task === 'sr' ? gt.data : meanFrames(gt.data, 64 * 64, 9);
      const k = task === 'sr' ? 2 : 1;
      const fg = foregroundFraction(img, gt.width, k * r.y, k * r.x, k * 32, foregroundThreshold(img));
      assert.ok(fg >= 0.05, `${task}: ${r.name} has ${fg} structure`);
      assert.ok(r.x >= 2, `${task}: ${r.name} at x ${r.x} lies in the empty half`);
    }
    const all = prepareDataset(job(task, { acquisitions: dir, count: 30, valFraction: 0.5, minForeground: 0 }));
    assert.equal(all.rejected, 0);
  }
});

test('bad cells are named; --skip-bad prepares the rest and lists them', () => {
  const dir = join(tmp.dir, 'bad');
  for (let c = 1; c <= 4; c++) cpSync(cellDir(c), join(dir, `Cell_${c}`), { recursive: true });
  rmSync(join(dir, 'Cell_1', 'SIM_gt.mrc'));
  const eight = readImageStack(join(dir, 'Cell_2', 'RawSIMData_level_01.mrc'));
  rmSync(join(dir, 'Cell_2', 'RawSIMData_level_01.mrc'));
  writeImageStack(join(dir, 'Cell_2', 'RawSIMData_level_01.tif'), eight.data.subarray(0, 8 * 64 * 64), {
    width: 64,
    height: 64,
    frames: 8,
  });
  const sr = readImageStack(join(dir, 'Cell_3', 'SIM_gt.mrc'));
  rmSync(join(dir, 'Cell_3', 'SIM_gt.mrc'));
  writeImageStack(join(dir, 'Cell_3', 'SIM_gt.mrc'), sr.data.subarray(0, 128 * 64), {
    width: 128,
    height: 64,
    frames: 1,
  });
  // Another cell for training beside Cell_4 once the bad ones are skipped.
  cpSync(cellDir(1), join(dir, 'Cell_5'), { recursive: true });
  const out = join(tmp.dir, 'bad-out');
  assert.throws(
    () => prepareDataset(job('sr', { acquisitions: dir, outDir: out })),
    (e: Error) =>
      e instanceof RdlError &&
      e.message.includes(join(dir, 'Cell_1', 'SIM_gt.mrc')) &&
      e.message.includes(`${join(dir, 'Cell_2', 'RawSIMData_level_01.tif')}: 8 frames, expected 9`) &&
      e.message.includes(`${join(dir, 'Cell_3', 'SIM_gt.mrc')}: 128×64 px, expected 128×128`) &&
      e.message.includes('--skip-bad'),
  );
  assert.ok(!existsSync(out), 'nothing is written');
  const s = prepareDataset(job('sr', { acquisitions: dir, outDir: out, skipBad: true }));
  assert.deepEqual(
    s.bad.map((b) => b.cell),
    ['Cell_1', 'Cell_2', 'Cell_3'],
  );
  assert.deepEqual(s.cells.map((c) => c.cell).sort(), ['Cell_4', 'Cell_5']);
  // dn does not need SIM_gt: Cell_1 and Cell_3 are good for it.
  const dn = prepareDataset(job('dn', { acquisitions: dir, skipBad: true }));
  assert.deepEqual(
    dn.bad.map((b) => b.cell),
    ['Cell_2'],
  );
  // The CLI: non-zero exit, the file named, no stack trace.
  const r = rdl('prepare', 'sr', dir, '-o', join(tmp.dir, 'bad-cli'), '--patch', '32', '--count', '8');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Cell_1\/SIM_gt\.mrc: missing/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
});

test('a non-empty output folder is refused; an empty one is filled', () => {
  const out = join(tmp.dir, 'taken');
  mkdirSync(out);
  writeFileSync(join(out, 'x'), 'x');
  assert.throws(() => prepareDataset(job('sr', { outDir: out })), /not empty/);
  assert.deepEqual(readdirSync(out), ['x']);
  const empty = join(tmp.dir, 'empty');
  mkdirSync(empty);
  prepareDataset(job('sr', { outDir: empty }));
  assert.ok(existsSync(join(empty, 'train_gt')));
  assert.deepEqual(
    readdirSync(tmp.dir).filter((f) => f.endsWith('.tmp')),
    [],
    'no temporary folder is left',
  );
});

test('a mapping file: TIFF cells in any arrangement; a bad field is named', () => {
  const dir = join(tmp.dir, 'mapped');
  mkdirSync(dir);
  const cells = [1, 2, 3].map((c) => {
    const files: Record<string, string> = {};
    for (const [role, f] of [
      ['low', 'RawSIMData_level_01.mrc'],
      ['gt', 'RawSIMData_gt.mrc'],
      ['sr', 'SIM_gt.mrc'],
    ] as const) {
      const s = readImageStack(join(cellDir(c), f));
      files[role] = `c${c}_${role}.tif`;
      writeImageStack(join(dir, files[role] as string), s.data, s, { pixelSizeUm: s.pixelSizeUm });
    }
    return { name: `c${c}`, levels: [files.low], rawGt: files.gt, srGt: files.sr };
  });
  writeFileSync(join(dir, 'map.json'), JSON.stringify({ cells }));
  for (const task of ['sr', 'dn'] as const) {
    const s = prepareDataset(job(task, { acquisitions: join(dir, 'map.json'), count: 9, valFraction: 0.3 }));
    assert.deepEqual(s.cells.map((c) => c.cell).sort(), ['c1', 'c2', 'c3']);
  }
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ cells: [{ name: 'a', levels: [3] }] }));
  assert.throws(() => listCells(join(dir, 'bad.json')), /bad\.json: cells\[0\]\.levels\[0\]: expected a file path/);
  const [nogt] = listCells(join(dir, 'map.json')).cells.map((c) => ({ ...c, srGt: null }));
  assert.throws(() => checkCell(nogt as never, 'sr', 'all', 32), /map\.json cells\[0\] \(c1\): srGt: missing/);
});
