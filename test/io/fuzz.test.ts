// Mutation fuzzing of the readers: valid MRC and TIFF files with bytes flipped, fields
// overwritten with extreme values, or cut short must give a typed InputFileError (or read fine)
// — never another exception, a crash or a hang. Seeded, so a failure is reproducible by its case number.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { InputFileError } from '../../src/errors.js';
import { writeMrc } from '../../src/io/mrc.js';
import { readImageStack } from '../../src/io/stack.js';
import { writeTiff } from '../../src/io/tiff.js';
import { fixture } from '../helpers.js';
import { tempDir } from './tmp.js';

const CASES = 6000;
const tmp = tempDir('fuzz');

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const EXTREMES = [0, 1, -1, 0x7fffffff, -0x80000000, 0xffff, 0x10000, 65535 * 65535, 3, 43, 42];

function mutate(src: Buffer, r: () => number): Buffer {
  const b = Buffer.from(src);
  const pick = (n: number) => Math.floor(r() * n);
  // Headers and IFDs sit near the start (MRC) or anywhere (TIFF IFDs): bias half the edits to the first 1 KB.
  const where = () => (r() < 0.5 ? pick(Math.min(b.length, 1024)) : pick(b.length));
  const kind = pick(5);
  if (kind === 0) return b.subarray(0, pick(b.length));
  const edits = 1 + pick(4);
  for (let e = 0; e < edits; e++) {
    const at = where();
    if (kind === 1) b[at] = pick(256);
    else if (kind === 2) b[at] ^= 1 << pick(8);
    else if (at + 4 <= b.length) {
      const v = EXTREMES[pick(EXTREMES.length)]!;
      if (r() < 0.5) b.writeInt32LE(v | 0, at);
      else b.writeInt32BE(v | 0, at);
    }
  }
  return b;
}

describe('fuzzing the MRC and TIFF readers', () => {
  const seeds: Array<[string, Buffer]> = [];
  const mrcPath = tmp.file('seed.mrc');
  writeMrc(
    mrcPath,
    Uint16Array.from({ length: 8 * 8 * 3 }, (_, i) => i),
    { nx: 8, ny: 8, nz: 3 },
    { labels: ['seed'] },
  );
  seeds.push(['mrc', readFileSync(mrcPath)]);
  const mrc4 = tmp.file('seed4.mrc');
  writeMrc(mrc4, new Float32Array(2 * 5 * 2), { nx: 5, ny: 2, nz: 1 }, { mode: 4 });
  seeds.push(['mrc', readFileSync(mrc4)]);
  const tifPath = tmp.file('seed.tif');
  writeTiff(
    tifPath,
    Uint16Array.from({ length: 8 * 8 * 3 }, (_, i) => i),
    { width: 8, height: 8, pages: 3 },
    { pixelSizeUm: { x: 0.1, y: 0.1, z: 0.2 } },
  );
  seeds.push(['tif', readFileSync(tifPath)]);
  for (const f of [
    'lzw_u16',
    'deflate_pred_u16',
    'packbits_u8',
    'bigtiff_u16',
    'bigendian_f32',
    'tiled_u16',
    'mrcfile_f32_be',
  ]) {
    seeds.push([
      f.startsWith('mrc') ? 'mrc' : 'tif',
      readFileSync(fixture(`io/${f}.${f.startsWith('mrc') ? 'mrc' : 'tif'}`)),
    ]);
  }

  it(`${CASES} mutated files: only InputFileError, nothing slower than 5 s`, { timeout: 120_000 }, () => {
    const r = rng(20240611);
    let typed = 0;
    let worstMs = 0;
    for (let c = 0; c < CASES; c++) {
      const [ext, seed] = seeds[c % seeds.length]!;
      const path = tmp.file(`case.${ext}`);
      writeFileSync(path, mutate(seed, r));
      const t0 = performance.now();
      try {
        readImageStack(path);
      } catch (err) {
        if (!(err instanceof InputFileError)) {
          assert.fail(
            `case ${c} (${ext}): untyped ${(err as Error)?.name}: ${(err as Error)?.message}\n${(err as Error)?.stack}`,
          );
        }
        assert.equal(err.file, path);
        typed++;
      }
      const ms = performance.now() - t0;
      worstMs = Math.max(worstMs, ms);
      assert.ok(ms < 5000, `case ${c} took ${ms.toFixed(0)} ms`);
    }
    // Most mutations must be caught; a fuzzer that never triggers an error tests nothing.
    assert.ok(typed > CASES / 10, `only ${typed} of ${CASES} cases raised errors`);
  });
});
