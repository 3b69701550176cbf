import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memory } from '../../src/engine/index.js';
import { InputFileError } from '../../src/errors.js';
import {
  maskedOtfGrid,
  otf2d,
  otfAt,
  otfTableForGrid,
  syntheticCutoffPerUm,
  syntheticRadialOtf,
} from '../../src/sim/otf.js';
import { assertClose, DEVICE } from '../helpers.js';
import { interFixture, loadOtf, OTF488 } from './mt.js';

const GRID = { height: 256, width: 256, pixelSizeUm: 0.0626 };

test('measured OTF: table and 2D values equal the reference read_otf', { skip: OTF488.skip }, () => {
  const ref = interFixture.otf;
  const otf = loadOtf();
  assert.equal(otf.values.length, ref.radial_otf_header_nx);
  assert.equal(otf.stepPerUm, ref.radial_otf_header_dkr);
  const table = otfTableForGrid(otf, GRID);
  assert.equal(table.values.length, ref.radial_resampled_length);
  assert.ok(Math.abs(table.stepPerUm - ref.image_dkr) < 1e-15);
  assertClose(table.values.slice(0, 8), ref.radial_resampled_first8, 1e-12);
  for (const [i, v] of ref.radial_resampled_at_index)
    assertClose([table.values[i] as number], [v], 1e-12, 0, `table[${i}]`);
  assert.equal(table.values.filter((v) => v !== 0).length, ref.radial_nonzero_count);
  assert.ok(Math.abs(table.values.reduce((a, b) => a + b, 0) - ref.radial_resampled_sum) < 1e-9);
  const before = memory().liveTensors;
  const o2 = otf2d(table, GRID, 'centred', { dtype: 'float64', device: DEVICE });
  const v = o2.toArray() as Float64Array;
  o2.dispose();
  assert.equal(memory().liveTensors, before);
  assert.ok(Math.abs(v.reduce((a, b) => a + b, 0) - ref.otf2d_sum) < 1e-8);
  for (const [r, c, want] of ref.otf2d_at)
    assertClose([v[r * 256 + c] as number], [want], 1e-12, 0, `otf2d[${r},${c}]`);
});

test('an OTF that ends before the image needs it, still non-zero, is refused', () => {
  // A flat profile up to 3 cycles/µm: the 62.6 nm image needs values up to 11.3 cycles/µm.
  const otf = { values: new Float64Array(31).fill(0.5), stepPerUm: 0.1, source: 'short.mrc' };
  assert.throws(
    () => otfTableForGrid(otf, GRID),
    (e: unknown) => e instanceof InputFileError && /short\.mrc.*needs it up to/.test(e.message),
  );
  const single = { values: new Float64Array([1, 0]), stepPerUm: 0.01, source: 'tiny.mrc' };
  assert.throws(() => otfTableForGrid(single, GRID), /less than two image frequency steps/);
});

test('synthetic OTF: circular-pupil curve, cutoff 2NA/λ', () => {
  const spec = { na: 1.49, emissionWavelengthNm: 525 };
  const fc = syntheticCutoffPerUm(spec);
  assert.ok(Math.abs(fc - (2 * 1.49) / 0.525) < 1e-12);
  const table = otfTableForGrid(syntheticRadialOtf(spec, 0.001, 12), GRID);
  assert.ok(Math.abs(otfAt(table, 0) - 1) < 1e-12);
  // Half the cutoff: (2/π)(acos ½ − ½√¾) = 0.391002.
  assert.ok(Math.abs(otfAt(table, fc / 2) - 0.391002) < 2e-4);
  assert.equal(otfAt(table, fc + 0.1), 0);
  // The trap of ALGORITHMS.md: MT.mrc's pattern (5.55 cycles/µm) lies inside NA 1.49's support, not NA 1.3's.
  assert.ok(otfAt(table, 5.55) > 0);
  const na13 = otfTableForGrid(syntheticRadialOtf({ na: 1.3, emissionWavelengthNm: 525 }, 0.001, 12), GRID);
  assert.equal(otfAt(na13, 5.55), 0);
  const att = otfTableForGrid(syntheticRadialOtf({ ...spec, attenuation: 0.5 }, 0.001, 12), GRID);
  assert.ok(Math.abs(otfAt(att, fc / 2) - 0.391002 * Math.SQRT1_2) < 2e-4);
});

test('masked OTF grid: OTF(|q|) inside the cutoff disc and above the threshold, 0 elsewhere (any grid shape)', () => {
  const otf = syntheticRadialOtf({ na: 1.3, emissionWavelengthNm: 525 }, 0.001, 12);
  // Even, odd and non-square grids; cutoffs inside the grid and at the Nyquist radius itself.
  for (const [height, width, pixelSizeUm, cutoffPerUm] of [
    [256, 256, 0.0626, 5.5],
    [63, 80, 0.0626, 5.5],
    [32, 32, 0.15, 16 / (32 * 0.15)],
    [33, 31, 0.15, 15 / (31 * 0.15)],
  ] as const) {
    const grid = { height, width, pixelSizeUm };
    const table = otfTableForGrid(otf, grid);
    for (const absolute of [true, false]) {
      const got = maskedOtfGrid(table, grid, { cutoffPerUm, otfThreshold: 0.005, absolute });
      let kept = 0;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          // Labels times the frequency step, as the grid module computes them (the cutoffs above
          // fall exactly on grid frequencies, so the rounding decides there).
          const qy = (y < Math.ceil(height / 2) ? y : y - height) * (1 / (height * pixelSizeUm));
          const qx = (x < Math.ceil(width / 2) ? x : x - width) * (1 / (width * pixelSizeUm));
          const r = Math.sqrt(qy ** 2 + qx ** 2);
          const h = otfAt(table, r);
          const want = r <= cutoffPerUm && (absolute ? Math.abs(h) : h) > 0.005 ? h : 0;
          assert.ok(Math.abs((got[y * width + x] as number) - want) < 1e-12, `${height}×${width} (${y}, ${x})`);
          if (want !== 0) kept++;
        }
      }
      assert.ok(kept > 0.1 * height * width, `${height}×${width}: the disc holds ${kept} frequencies`);
    }
  }
});

test('the OTF table and masked grid of an OTF and grid are made once and shared (a time-lapse reuses them)', () => {
  const otf = syntheticRadialOtf({ na: 1.3, emissionWavelengthNm: 520 }, 0.001, 16);
  const table = otfTableForGrid(otf, GRID);
  assert.equal(otfTableForGrid(otf, { ...GRID }), table);
  const other = otfTableForGrid(otf, { ...GRID, pixelSizeUm: 0.07 });
  assert.notEqual(other, table);
  assert.notDeepEqual(Array.from(other.values.slice(0, 50)), Array.from(table.values.slice(0, 50)));
  // Another OTF object with other values gets its own table.
  const wider = syntheticRadialOtf({ na: 1.49, emissionWavelengthNm: 520 }, 0.001, 16);
  assert.notEqual(otfTableForGrid(wider, GRID), table);
  const mask = { cutoffPerUm: 4, otfThreshold: 0.005, absolute: true };
  const grid = maskedOtfGrid(table, GRID, mask);
  assert.equal(maskedOtfGrid(table, { ...GRID }, { ...mask }), grid);
  assert.notEqual(maskedOtfGrid(table, GRID, { ...mask, cutoffPerUm: 3 }), grid);
  assert.notEqual(maskedOtfGrid(table, GRID, { ...mask, absolute: false }), grid);
});
