import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InputFileError, ParameterError } from '../../src/errors.js';
import { writeMrc } from '../../src/io/mrc.js';
import { listSamples, naturalSort, pairSamples, readSample } from '../../src/io/samples.js';
import { readImageStack, writeImageStack } from '../../src/io/stack.js';
import { writeTiff } from '../../src/io/tiff.js';
import { fixture, ROOT, sharedFile } from '../helpers.js';
import { tempDir } from './tmp.js';

const tmp = tempDir('stack');

describe('readImageStack / writeImageStack', () => {
  const data = Uint16Array.from({ length: 6 * 4 * 3 }, (_, i) => i * 100);
  for (const ext of ['mrc', 'tif']) {
    it(`round trip through .${ext}, with frame ranges`, () => {
      const path = tmp.file(`s.${ext}`);
      writeImageStack(path, data, { width: 6, height: 4, frames: 3 }, { pixelSizeUm: { x: 0.05, y: 0.05, z: 0.2 } });
      const s = readImageStack(path);
      assert.equal(s.format, ext === 'mrc' ? 'mrc' : 'tiff');
      assert.deepEqual([s.width, s.height, s.frames, s.dtype], [6, 4, 3, 'uint16']);
      assert.deepEqual(Array.from(s.data), Array.from(data));
      assert.ok(Math.abs(s.pixelSizeUm!.x - 0.05) < 1e-6 && Math.abs(s.pixelSizeUm!.z! - 0.2) < 1e-6);
      const part = readImageStack(path, { frames: [2, 3] });
      assert.equal(part.frames, 1);
      assert.deepEqual(Array.from(part.data), Array.from(data.subarray(48)));
    });
  }
  it('detects a TIFF by its magic even with an .mrc name', () => {
    const path = tmp.file('really-a-tiff.mrc');
    writeTiff(path, data, { width: 6, height: 4, pages: 3 });
    assert.equal(readImageStack(path).format, 'tiff');
  });
  it('refuses unknown extensions', () => {
    assert.throws(() => writeImageStack(tmp.file('x.png'), data, { width: 6, height: 4, frames: 3 }), ParameterError);
    const p = tmp.file('x.bin');
    writeFileSync(p, 'hello');
    assert.throws(() => readImageStack(p), InputFileError);
  });
});

describe('sample folders', () => {
  it('natural sort', () => assert.deepEqual(naturalSort(['10.tif', '2.tif', '1.tif']), ['1.tif', '2.tif', '10.tif']));
  it('pairs inputs and ground truths; folders of single pages stack in natural order', () => {
    const root = join(tmp.dir, 'ds');
    for (const d of ['train', 'train_gt', 'train/cellA']) mkdirSync(join(root, d), { recursive: true });
    // cellA: a folder of single pages 1, 2, 10 whose first pixel is its number.
    for (const k of [10, 2, 1])
      writeTiff(join(root, 'train/cellA', `${k}.tif`), Uint16Array.of(k, 0, 0, 0), { width: 2, height: 2, pages: 1 });
    writeTiff(join(root, 'train_gt', 'cellA.tif'), new Uint16Array(4), { width: 2, height: 2, pages: 1 });
    writeMrc(join(root, 'train', 'cellB.mrc'), new Uint16Array(8), { nx: 2, ny: 2, nz: 2 });
    writeMrc(join(root, 'train_gt', 'cellB.mrc'), new Uint16Array(4), { nx: 2, ny: 2, nz: 1 });
    const pairs = pairSamples(root, 'train');
    assert.deepEqual(
      pairs.map((p) => [p.name, p.input.kind, p.gt.kind]),
      [
        ['cellA', 'folder', 'file'],
        ['cellB', 'file', 'file'],
      ],
    );
    const a = readSample(pairs[0]!.input);
    assert.equal(a.frames, 3);
    assert.deepEqual([a.data[0], a.data[4], a.data[8]], [1, 2, 10]);
    assert.equal(listSamples(join(root, 'train_gt')).length, 2);
  });
  it('names unpaired samples and missing folders', () => {
    const root = join(tmp.dir, 'bad');
    for (const d of ['val', 'val_gt']) mkdirSync(join(root, d), { recursive: true });
    writeTiff(join(root, 'val', 'lonely.tif'), new Uint8Array(4), { width: 2, height: 2, pages: 1 });
    assert.throws(() => pairSamples(root, 'val'), /no ground truth in val_gt for lonely/);
    assert.throws(
      () => pairSamples(root, 'train'),
      (e: unknown) => e instanceof InputFileError && /cannot list/.test(e.message),
    );
  });
});

describe('rdl info', () => {
  const rdl = (...args: string[]) =>
    spawnSync(process.execPath, [join(ROOT, 'bin/rdl.js'), 'info', ...args], { encoding: 'utf8' });
  const mt = sharedFile('rDL-SIM/Microtubules/MT.mrc');
  it('MT.mrc as JSON', { skip: mt.skip }, () => {
    const r = rdl(mt.path, '--json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual([j.format, j.width, j.height, j.frames, j.dtype, j.mode], ['mrc', 256, 256, 9, 'uint16', 6]);
    assert.ok(Math.abs(j.pixelSizeUm.x - 0.0626) < 1e-6);
    assert.equal(j.title, 'c18-488-0.3W-1.35-2ms');
  });
  it('a TIFF, as text', () => {
    const r = rdl(fixture('io/imagej_u16.tif'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /TIFF/);
    assert.match(r.stdout, /x 16, y 12, pages 3/);
    assert.match(r.stdout, /0\.0626 µm/);
  });
  it('a bad file: exit 1, one line on stderr, no stack trace', () => {
    const p = tmp.file('trunc.tif');
    writeFileSync(p, 'II*\0');
    const r = rdl(p);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^rdl: .*trunc\.tif: /);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
