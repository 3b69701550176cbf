// Mutation fuzzing of the readers: valid MRC and TIFF files with bytes flipped, fields
// overwritten with extreme values, or cut short must give a typed InputFileError (or read fine)
// — never another exception, a crash or a hang. Seeded, so a failure is reproducible by its case number.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { InputFileError } from '../../src/errors.js';
import { writeMrc } from '../../src/io/mrc.js';
import { readImageStack } from '../../src/io/stack.js';
import { openStackReader } from '../../src/io/stack-reader.js';
import { writeTiff } from '../../src/io/tiff.js';
import { DFCAN, DFCAN_SMALL } from '../../src/models/dfcan.js';
import { saveModelFolder } from '../../src/models/folder.js';
import { isOneLineError, MEMORY_CAP_KB, pool, rdlCapped } from '../cli/capped.js';
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
        // The streaming reader (rdl predict sim's input path) must agree.
        const r = openStackReader(path);
        try {
          r.read(0, r.info.frames);
        } finally {
          r.close();
        }
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

// Every command's input path, in child processes under a memory cap (ulimit -v), so that a
// runaway allocation fails the test instead of the machine: a mutated 32×32 SIM cycle each,
// the commands taking turns. Each must exit 0, or 1 with one "rdl: …" line — never a crash, a
// signal, a stack trace, or a non-finite number printed.
describe('fuzzing every command under ulimit -v', () => {
  const CHILD_CASES = 8;
  const dir = tmp.file('cmd');
  const seeds: Array<[string, Buffer]> = [];
  const cycle = Uint16Array.from({ length: 9 * 32 * 32 }, (_, i) => {
    const f = Math.floor(i / 1024);
    const x = i % 32;
    const y = Math.floor(i / 32) % 32;
    return 200 + Math.round(100 * (1 + Math.cos(0.9 * x + 0.4 * y * (f % 3) + (2 * Math.PI * f) / 3)));
  });
  writeMrc(tmp.file('cycle.mrc'), cycle, { nx: 32, ny: 32, nz: 9 }, { pixelSizeUm: { x: 0.0626, y: 0.0626, z: null } });
  seeds.push(['mrc', readFileSync(tmp.file('cycle.mrc'))]);
  writeTiff(
    tmp.file('cycle.tif'),
    cycle,
    { width: 32, height: 32, pages: 9 },
    { pixelSizeUm: { x: 0.0626, y: 0.0626 } },
  );
  seeds.push(['tif', readFileSync(tmp.file('cycle.tif'))]);

  it(
    `${CHILD_CASES} mutated inputs through info, estimate, reconstruct, metrics, predict sr`,
    { timeout: 180_000 },
    async () => {
      const model = new DFCAN({ ...DFCAN_SMALL }, { seed: 1 });
      saveModelFolder(model, `${dir}-dfcan`);
      model.dispose();
      const r = rng(7);
      const cases = Array.from({ length: CHILD_CASES }, (_, c) => {
        const [ext, seed] = seeds[c % seeds.length]!;
        const path = tmp.file(`child${c}.${ext}`);
        writeFileSync(path, mutate(seed, r));
        const out = tmp.file(`child${c}-out.tif`);
        const commands = [
          ['info', path],
          ['estimate', path, '--na', '1.49'],
          ['reconstruct', path, '--na', '1.49', '-o', out],
          ['metrics', path],
          ['metrics', path, path],
          ['predict', 'sr', path, '--model', `${dir}-dfcan`, '-o', out],
        ];
        return commands[c % commands.length]!;
      });
      const runs = await pool(cases, 2, (args) => rdlCapped(args, { capKb: MEMORY_CAP_KB, timeoutMs: 60_000 }));
      const problems: string[] = [];
      runs.forEach((run, c) => {
        const what = `case ${c}: rdl ${run.args.join(' ')}`;
        if (run.signal !== null || (run.status !== 0 && run.status !== 1))
          problems.push(`${what}: ended by ${run.signal ?? `exit ${run.status}`}\n${run.stderr.slice(-2000)}`);
        else if (run.status === 1 && !isOneLineError(run.stderr))
          problems.push(`${what}: not a one-line error\n${run.stderr.slice(-2000)}`);
        if (/\bNaN\b|Infinity/.test(run.stdout)) problems.push(`${what}: printed a non-finite value\n${run.stdout}`);
      });
      assert.deepEqual(problems, []);
    },
  );
});
