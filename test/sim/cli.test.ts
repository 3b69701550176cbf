import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { writeMrc } from '../../src/io/mrc.js';
import { tempDir } from '../io/tmp.js';
import { fitFixture, MT, OTF488, SKIP_REAL } from './mt.js';

const tmp = tempDir('sim-cli');
const rdl = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/rdl.js', 'estimate', ...args], { encoding: 'utf8' });

test('rdl estimate --json on MT.mrc reports the reference fit', { skip: SKIP_REAL }, () => {
  const r = rdl(MT.path, '--otf', OTF488.path, '--json', '--fit', 'reference');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.orientations.length, 3);
  out.orientations.forEach((o: { k0PerUm: number[]; fallback: boolean }, d: number) => {
    const ref = fitFixture.orientations[d].rdl;
    assert.ok(Math.hypot(o.k0PerUm[0]! - ref.kx, o.k0PerUm[1]! - ref.ky) < 1e-3);
    assert.equal(o.fallback, false);
  });
  const all = rdl(MT.path, '--otf', OTF488.path, '--json', '--all-cycles');
  assert.equal(all.status, 0, all.stderr);
  assert.equal(JSON.parse(all.stdout).length, 1);
});

test('rdl estimate: bad input exits non-zero with one line on stderr', () => {
  const eight = tmp.file('eight.mrc');
  writeMrc(eight, new Uint16Array(8 * 32 * 32).fill(100), { nx: 32, ny: 32, nz: 8 });
  const nine = tmp.file('nine.mrc');
  writeMrc(nine, new Uint16Array(9 * 32 * 32).fill(100), { nx: 32, ny: 32, nz: 9 });
  const params = tmp.file('p.json');
  writeFileSync(params, JSON.stringify({ pixelSizeUm: 'small' }));
  const cases: [string[], RegExp][] = [
    [[eight, '--na', '1.49', '--emission-nm', '525'], /8 frames, not a multiple of 3 orientations × 3 phases/],
    [[nine], /--otf FILE/],
    [[nine, '--na', '1.49', '--params', params], /p\.json\.pixelSizeUm/],
    [[nine, '--na', '1.49', '--preset', 'setup7'], /--preset/],
    [[nine, '--na', '-1'], /--na/],
    [[nine, '--otf', nine], /radial OTF/],
  ];
  for (const [args, re] of cases) {
    const r = rdl(...args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
