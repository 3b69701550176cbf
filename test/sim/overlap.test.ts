// ModampEvaluator.evaluate computes the reference's modamp in the frequency domain (overlap-spectral.ts)
// or, as the reference does, through two inverse FFTs per candidate (large images).
// The two must agree to rounding for any grid shape (odd, even, non-square), any candidate
// (inside the OTF support or not, any orientation) and batches mixing orientations.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { complex, memory, rand, tidy } from '../../src/engine/index.js';
import type { KCandidate } from '../../src/sim/fit/candidates.js';
import { ModampEvaluator } from '../../src/sim/fit/overlap.js';
import { otfTableForGrid, syntheticRadialOtf } from '../../src/sim/otf.js';
import { DEVICE } from '../helpers.js';

for (const [height, width] of [
  [64, 64],
  [63, 80],
  [96, 57],
]) {
  test(`frequency-domain modamp equals the inverse-FFT form, ${height}×${width}`, () => {
    const grid = { height, width, pixelSizeUm: 0.0626 };
    const table = otfTableForGrid(syntheticRadialOtf({ na: 1.3, emissionWavelengthNm: 525 }, 0.001, 12), grid);
    const before = memory().liveTensors;
    const bands = tidy(() =>
      complex(
        rand([3, 2, height, width], { seed: 1, dtype: 'float64', device: DEVICE }),
        rand([3, 2, height, width], { seed: 2, dtype: 'float64', device: DEVICE }),
      ),
    );
    const ev = new ModampEvaluator(bands, table, grid, { cutoffPerUm: 5.5, otfThreshold: 0.005 });
    const cands: KCandidate[] = [];
    let i = 0;
    // Magnitudes from well inside the OTF support (radius 4.95 cycles/µm) to beyond it.
    for (const mag of [0.7, 2.9, 4.4, 5.53, 6.1]) {
      for (const angle of [0.1, 1.48, 2.5272, -2.7, 3.1]) {
        cands.push({ orientation: i++ % 3, kx: mag * Math.cos(angle), ky: mag * Math.sin(angle) });
      }
    }
    // Vectors on frequency bins (κ an integer): the kernels' entries where sin(πf/n) = 0 take their limit.
    const [dkx, dky] = [1 / (width * grid.pixelSizeUm), 1 / (height * grid.pixelSizeUm)];
    cands.push({ orientation: 0, kx: 20 * dkx, ky: -7 * dky }, { orientation: 2, kx: -13 * dkx, ky: 17 * dky });
    const spectral = ev.evaluate(cands, 'spectral');
    const reference = ev.evaluate(cands, 'transforms');
    spectral.forEach((s, c) => {
      const r = reference[c] as [number, number];
      const scale = Math.hypot(r[0], r[1]);
      const d = Math.hypot(s[0] - r[0], s[1] - r[1]);
      assert.ok(scale > 0, `candidate ${c} has no overlap: pick candidates that test something`);
      assert.ok(d <= 1e-10 * scale, `candidate ${JSON.stringify(cands[c])}: ${s} vs ${r}`);
    });
    ev.dispose();
    bands.dispose();
    assert.equal(memory().liveTensors, before);
  });
}

test('frequency-domain modamp equals the inverse-FFT form where the lens reaches the Nyquist label', () => {
  // Pixels of 0.15 µm: the OTF support (4.95 cycles/µm) passes Nyquist (3.33), and the cutoff is
  // Nyquist itself, so band 1's box holds the label −n/2, whose mirror +n/2 is off the grid (its
  // weight cannot be borrowed from band 0's box and is computed directly).
  const grid = { height: 32, width: 32, pixelSizeUm: 0.15 };
  const table = otfTableForGrid(syntheticRadialOtf({ na: 1.3, emissionWavelengthNm: 525 }, 0.001, 12), grid);
  const nyquist = 16 / (32 * 0.15);
  const bands = tidy(() =>
    complex(
      rand([3, 2, 32, 32], { seed: 3, dtype: 'float64', device: DEVICE }),
      rand([3, 2, 32, 32], { seed: 4, dtype: 'float64', device: DEVICE }),
    ),
  );
  const ev = new ModampEvaluator(bands, table, grid, { cutoffPerUm: nyquist, otfThreshold: 0.005 });
  const cands: KCandidate[] = [
    { orientation: 0, kx: 0.7, ky: 0 },
    { orientation: 1, kx: 0, ky: 1.3 },
    { orientation: 2, kx: 2.1, ky: 0.4 },
  ];
  const spectral = ev.evaluate(cands, 'spectral');
  const reference = ev.evaluate(cands, 'transforms');
  spectral.forEach((s, c) => {
    const r = reference[c] as [number, number];
    assert.ok(Math.hypot(s[0] - r[0], s[1] - r[1]) <= 1e-10 * Math.hypot(r[0], r[1]), `candidate ${c}: ${s} vs ${r}`);
  });
  ev.dispose();
  bands.dispose();
});

test('evaluators used in turn each get their own bands (the host copy is shared and re-made)', () => {
  const grid = { height: 64, width: 64, pixelSizeUm: 0.0626 };
  const table = otfTableForGrid(syntheticRadialOtf({ na: 1.3, emissionWavelengthNm: 525 }, 0.001, 12), grid);
  const make = (seed: number) =>
    tidy(() =>
      complex(
        rand([3, 2, 64, 64], { seed, dtype: 'float64', device: DEVICE }),
        rand([3, 2, 64, 64], { seed: seed + 1, dtype: 'float64', device: DEVICE }),
      ),
    );
  const [bandsA, bandsB] = [make(5), make(7)];
  const settings = { cutoffPerUm: 5.5, otfThreshold: 0.005 };
  const [a, b] = [
    new ModampEvaluator(bandsA, table, grid, settings),
    new ModampEvaluator(bandsB, table, grid, settings),
  ];
  const cand: KCandidate[] = [{ orientation: 1, kx: 2.9 * Math.cos(1.48), ky: 2.9 * Math.sin(1.48) }];
  const expect = [a.evaluate(cand, 'transforms')[0], b.evaluate(cand, 'transforms')[0]] as [number, number][];
  assert.ok(Math.hypot(expect[0][0] - expect[1][0], expect[0][1] - expect[1][1]) > 1e-3, 'the two must differ');
  for (let round = 0; round < 2; round++) {
    [a, b].forEach((ev, i) => {
      const [got] = ev.evaluate(cand, 'spectral') as [number, number][];
      const want = expect[i] as [number, number];
      assert.ok(
        Math.hypot(got[0] - want[0], got[1] - want[1]) <= 1e-10 * Math.hypot(want[0], want[1]),
        `evaluator ${i}`,
      );
    });
  }
  for (const t of [a, b, bandsA, bandsB]) t.dispose();
});

test('a large evaluator lets go of the shared host copy at dispose, and a live one copies its bands again', () => {
  const settings = { cutoffPerUm: 5.5, otfThreshold: 0.005 };
  const otf = syntheticRadialOtf({ na: 1.3, emissionWavelengthNm: 525 }, 0.001, 12);
  const evaluator = (n: number, seed: number) => {
    const grid = { height: n, width: n, pixelSizeUm: 0.0626 };
    const bands = tidy(() =>
      complex(rand([3, 2, n, n], { seed, device: DEVICE }), rand([3, 2, n, n], { seed: seed + 1, device: DEVICE })),
    );
    const ev = new ModampEvaluator(bands, otfTableForGrid(otf, grid), grid, settings);
    bands.dispose();
    return ev;
  };
  const small = evaluator(64, 11);
  const cand: KCandidate[] = [{ orientation: 2, kx: 2.9 * Math.cos(2.5), ky: 2.9 * Math.sin(2.5) }];
  const [want] = small.evaluate(cand, 'transforms') as [number, number][];
  small.evaluate(cand, 'spectral');
  // 3 × 2 × 640² complex float32: 4.9 M floats, over what the shared buffer keeps.
  const large = evaluator(640, 13);
  large.evaluate(cand, 'spectral');
  const check = (stage: string) => {
    const [got] = small.evaluate(cand, 'spectral') as [number, number][];
    const ok = Math.hypot(got[0] - want[0], got[1] - want[1]) <= 1e-4 * Math.hypot(want[0], want[1]);
    assert.ok(ok, `${stage}: ${got} vs ${want}`);
  };
  check('after the large one used the buffer'); // the small one owns the (large) buffer again
  large.dispose(); // drops that buffer although the small one owns it
  check('after the large one was disposed');
  small.dispose();
});
