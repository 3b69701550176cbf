// What Fiji and IMOD see in rdl's outputs, and how inputs are recognized: time-lapses as ImageJ
// frames (T), no made-up MRC z spacing, an MRC file named .tif named as such; plus the one
// pixel-size rule of the CLI and the equalization message.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { choosePixelSize } from '../../src/cli/pixel-size.js';
import { tensor } from '../../src/engine/index.js';
import { InputFileError, ShapeError } from '../../src/errors.js';
import { readMrcHeader, writeMrc } from '../../src/io/mrc.js';
import { detectFormat, writeImageStack } from '../../src/io/stack.js';
import { readTiffInfo } from '../../src/io/tiff.js';
import { equalizationFactors } from '../../src/sim/equalize.js';
import { tempDir } from './tmp.js';

const tmp = tempDir('metadata');

describe('output metadata', () => {
  it('a time-lapse TIFF has ImageJ frames (T) and a spacing; a plain stack stays slices', () => {
    const data = new Float32Array(3 * 4 * 4);
    writeImageStack(
      tmp.file('t.tif'),
      data,
      { width: 4, height: 4, frames: 3 },
      {
        pixelSizeUm: { x: 0.03, y: 0.03, z: null },
        timeLapse: true,
      },
    );
    const t = readTiffInfo(tmp.file('t.tif'));
    assert.deepEqual([t.imagej?.frames, t.imagej?.slices], [3, 1]);
    assert.ok(Math.abs((t.imagej?.spacing ?? 0) - 0.03) < 1e-9);
    writeImageStack(tmp.file('z.tif'), data, { width: 4, height: 4, frames: 3 }, { pixelSizeUm: { x: 0.03, y: 0.03 } });
    const z = readTiffInfo(tmp.file('z.tif'));
    assert.deepEqual([z.imagej?.frames, z.imagej?.slices, z.imagej?.spacing], [1, 3, undefined]);
  });
  it('an MRC without a known z spacing stores a z cell of 0 and reads back z null', () => {
    writeImageStack(
      tmp.file('t.mrc'),
      new Float32Array(3 * 16),
      { width: 4, height: 4, frames: 3 },
      {
        pixelSizeUm: { x: 0.03, y: 0.03, z: null },
      },
    );
    const h = readMrcHeader(tmp.file('t.mrc'));
    assert.equal(h.cellA[2], 0);
    assert.ok(Math.abs((h.pixelSizeUm?.x ?? 0) - 0.03) < 1e-7);
    assert.equal(h.pixelSizeUm?.z, null);
    writeImageStack(
      tmp.file('z.mrc'),
      new Float32Array(3 * 16),
      { width: 4, height: 4, frames: 3 },
      {
        pixelSizeUm: { x: 0.03, y: 0.03, z: 0.2 },
      },
    );
    assert.ok(Math.abs((readMrcHeader(tmp.file('z.mrc')).pixelSizeUm?.z ?? 0) - 0.2) < 1e-7);
  });
  it('an MRC file named .tif is named as MRC', () => {
    writeMrc(tmp.file('a.mrc'), new Uint16Array(16), { nx: 4, ny: 4, nz: 1 });
    writeFileSync(tmp.file('a.tif'), readFileSync(tmp.file('a.mrc')));
    assert.throws(
      () => detectFormat(tmp.file('a.tif')),
      (e: unknown) => e instanceof InputFileError && /it has an MRC header; rename it to \.mrc/.test(e.message),
    );
  });
});

describe('the pixel-size rule', () => {
  const pick = (fileUm: number | null, given: number | null, fallback: number | null) => {
    const said: string[] = [];
    const um = choosePixelSize({
      command: 'rdl x',
      input: 'in.tif',
      fileUm,
      given: given === null ? null : { um: given, by: '--pixel-um' },
      fallback: fallback === null ? null : { um: fallback, by: 'preset setup0' },
      say: (l) => said.push(l),
    });
    return { um, said: said.join('\n') };
  };
  it("the file's, the option's (warning when > 1 % apart), the preset's, and says which", () => {
    assert.deepEqual(pick(0.08, null, 0.0626), { um: 0.08, said: 'rdl x: pixel size 0.08 µm (from in.tif)' });
    const w = pick(0.08, 0.0626, 0.0626);
    assert.equal(w.um, 0.0626);
    assert.match(w.said, /warning: in\.tif states a pixel size of 0\.08 µm; using the 0\.0626 µm of --pixel-um/);
    assert.doesNotMatch(pick(0.0627, 0.0626, 0.0626).said, /warning/);
    const p = pick(null, null, 0.0626);
    assert.equal(p.um, 0.0626);
    assert.match(p.said, /in\.tif states no pixel size; using 0\.0626 µm \(preset setup0/);
    assert.equal(pick(null, null, null).um, null);
  });
});

describe('intensity equalization', () => {
  it('names the orientation whose mean is not positive, and every mean', () => {
    const frames = tensor(
      Float32Array.from({ length: 3 * 3 * 4 }, (_, i) => (i >= 12 && i < 24 ? 0 : 1)),
      [3, 3, 2, 2],
    );
    try {
      assert.throws(
        () => equalizationFactors(frames),
        (e: unknown) =>
          e instanceof ShapeError &&
          /orientation 1 has mean 0 \(orientation 0: 1, orientation 1: 0, orientation 2: 1\)/.test(e.message),
      );
    } finally {
      frames.dispose();
    }
  });
});
