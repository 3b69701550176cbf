// The augmentations of `rdl prepare`: the 8 symmetries for sr keep every input pixel over its own
// target pixels (2× grid), and the dn rotation keeps the illumination the denoiser's fit expects:
// a 180° rotation with the phases reordered is fitted to the same angles and modulation as the
// original, while a flip or a 90° rotation (or the rotation without reordering) is not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dispose, tensor } from '../../src/engine/index.js';
import {
  cropPlanes,
  DN_TRANSFORMS,
  reversePhaseSteps,
  SR_TRANSFORMS,
  transformCycle,
  transformPlanes,
} from '../../src/pipelines/prepare-patches.js';
import { estimateCycle } from '../../src/sim/fit/estimate.js';
import { otfTableForGrid, syntheticRadialOtf } from '../../src/sim/otf.js';
import { simulatorParameters } from '../../src/sim/simulate/optics.js';
import { simulateSample } from '../../src/sim/simulate/sample.js';
import { DEVICE } from '../helpers.js';

/** Nearest-neighbour 2× upsampling of one n×n plane. */
function up2(a: Float32Array, n: number): Float32Array {
  const out = new Float32Array(4 * n * n);
  for (let y = 0; y < 2 * n; y++)
    for (let x = 0; x < 2 * n; x++) out[y * 2 * n + x] = a[(y >> 1) * n + (x >> 1)] as number;
  return out;
}

test('the 8 sr symmetries are distinct permutations that commute with the 2× grid', () => {
  const n = 6;
  const a = Float32Array.from({ length: n * n }, (_, i) => i);
  const seen = new Set<string>();
  for (const t of SR_TRANSFORMS) {
    const b = transformPlanes(a, 1, n, t) as Float32Array;
    assert.deepEqual(
      [...b].sort((p, q) => p - q),
      [...a],
      `${t} is not a permutation`,
    );
    seen.add(b.join(','));
    // The raw pixel (y, x) covers target pixels (2y..2y+1, 2x..2x+1) before and after.
    assert.deepEqual(transformPlanes(up2(a, n), 1, 2 * n, t), up2(b, n), `${t}: raw and 2× target disagree`);
    // Frames are transformed alike.
    const two = Float32Array.from({ length: 2 * n * n }, (_, i) => i % (n * n));
    const tt = transformPlanes(two, 2, n, t) as Float32Array;
    assert.deepEqual(tt.subarray(n * n), b);
  }
  assert.equal(seen.size, 8);
  // Crop then 2× equals 2× then crop at twice the position.
  const big = Float32Array.from({ length: 8 * 8 }, (_, i) => i * 3);
  const c = cropPlanes(big, 8, 8, 1, 2, 3, 4) as Float32Array;
  assert.deepEqual(cropPlanes(up2(big, 8), 16, 16, 1, 4, 6, 8), up2(c, 4));
  assert.ok(cropPlanes(Uint16Array.from([1, 2, 3, 4]), 2, 2, 1, 0, 0, 1) instanceof Uint16Array);
});

test('dn: only the identity and the 180° rotation; the rotation reorders phases 0, 2, 1 per orientation', () => {
  assert.deepEqual([...DN_TRANSFORMS], ['id', 'rot180']);
  const frames = Float32Array.from({ length: 9 }, (_, f) => f); // 1×1 planes: frame f holds f
  assert.deepEqual([...reversePhaseSteps(frames, 1, 'orientation-major')], [0, 2, 1, 3, 5, 4, 6, 8, 7]);
  // phase-major: frame z = j·3 + d, so phases 1 and 2 of every orientation swap as blocks.
  assert.deepEqual([...reversePhaseSteps(frames, 1, 'phase-major')], [0, 1, 2, 6, 7, 8, 3, 4, 5]);
  assert.throws(() => transformCycle(new Float32Array(9 * 4), 2, 'flipx', 'orientation-major'), /orientation/);
});

test('dn: a rotated cycle is fitted like the original; flips and 90° rotations are not', () => {
  const p = simulatorParameters();
  const n = 96;
  const s = simulateSample({
    structure: 'microtubules',
    height: n,
    width: n,
    params: p,
    seed: 3,
    photons: 100,
    device: DEVICE,
  });
  const cycle = s.target.toFloat32Array();
  const truth = s.truth.orientations;
  dispose(s);
  const otf = syntheticRadialOtf({ na: p.detectionNA, emissionWavelengthNm: p.emissionWavelengthNm }, 0.001, 64);
  const table = otfTableForGrid(otf, { height: n, width: n, pixelSizeUm: p.pixelSizeUm });
  const fit = (data: ArrayLike<number>) => {
    const t = tensor(Float32Array.from(data), [3, 3, n, n], { device: DEVICE });
    try {
      return estimateCycle(t, table, p).orientations;
    } finally {
      t.dispose();
    }
  };
  const original = fit(cycle);
  original.forEach((o, d) => {
    assert.ok(Math.abs(o.angleRad - (truth[d]?.angleRad as number)) < 0.01, `orientation ${d}: angle ${o.angleRad}`);
  });
  const rotated = fit(transformCycle(cycle, n, 'rot180', 'orientation-major'));
  rotated.forEach((o, d) => {
    const ref = original[d] as (typeof original)[number];
    assert.ok(
      Math.abs(o.angleRad - ref.angleRad) < 0.005,
      `rot180, orientation ${d}: angle ${o.angleRad} vs ${ref.angleRad}`,
    );
    assert.ok(Math.abs(o.magnitudePerUm - ref.magnitudePerUm) < 0.02);
    assert.ok(Math.abs((o.modulation as number) - (ref.modulation as number)) < 0.05, `modulation ${o.modulation}`);
  });
  // Without the phase reordering, or after a flip or a 90° rotation, the fit loses the pattern:
  // its modulation collapses (it has only noise to fit inside its window around the preset angles).
  for (const t of ['rot180', 'flipx', 'rot90'] as const) {
    const wrong = fit(transformPlanes(cycle, 9, n, t));
    const m = Math.max(...wrong.map((o) => o.modulation as number));
    const m0 = Math.min(...original.map((o) => o.modulation as number));
    assert.ok(m < m0 / 2, `${t} without reordering: modulation ${m} (original ≥ ${m0})`);
  }
});
