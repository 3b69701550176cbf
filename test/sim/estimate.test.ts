import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fft, memory, rand, stack, tensor, tidy } from '../../src/engine/index.js';
import { ParameterError, ShapeError } from '../../src/errors.js';
import { estimateCycle, estimateStack, type IlluminationEstimate } from '../../src/sim/fit/estimate.js';
import { modulationDepth } from '../../src/sim/illumination.js';
import { otf2d, otfTableForGrid, syntheticRadialOtf } from '../../src/sim/otf.js';
import { preset, resolveParameters } from '../../src/sim/params.js';
import { DEVICE } from '../helpers.js';
import { fitFixture, loadMt, loadOtf, SKIP_REAL } from './mt.js';

for (const precision of ['float32', 'float64'] as const) {
  test(`MT.mrc fit equals the reference (${precision})`, { skip: SKIP_REAL }, () => {
    const before = memory().liveTensors;
    const est = estimateStack(loadMt(), loadOtf(), preset('setup0'), { precision, device: DEVICE, fit: 'reference' });
    assert.equal(memory().liveTensors, before);
    const counts = [10, 11, 12];
    est.orientations.forEach((o, d) => {
      const ref = fitFixture.orientations[d].rdl;
      const dk = Math.hypot(o.k0PerUm[0] - ref.kx, o.k0PerUm[1] - ref.ky);
      assert.ok(dk <= 1e-3, `orientation ${d}: |Δk| = ${dk}`);
      const dphi = Math.abs(Math.atan2(Math.sin(o.phaseRad - ref.phase), Math.cos(o.phaseRad - ref.phase)));
      assert.ok(dphi <= 0.02, `orientation ${d}: |Δphase| = ${dphi}`);
      assert.ok(Math.abs(o.spacingUm - ref.line_spacing_um) < 1e-4);
      const m = fitFixture.orientations[d].reference.modamp;
      assert.ok(Math.hypot(o.modamp[0] - m.re, o.modamp[1] - m.im) < 1e-5, `orientation ${d}: modamp ${o.modamp}`);
      assert.equal(o.fallback, false);
      assert.equal(o.evaluations, counts[d]);
      if (precision === 'float64') {
        // Double precision reproduces the reference to rounding.
        assert.ok(dk < 1e-9 && dphi < 1e-9, `orientation ${d}: ${dk}, ${dphi}`);
      }
    });
  });
}

const TRUTH = [
  { angle: 0.4, mag: 3.9, phase: 0.9, m: 0.8 },
  { angle: 0.4 + (2 * Math.PI) / 3, mag: 3.93, phase: -2.0, m: 0.6 },
  { angle: 0.4 + (4 * Math.PI) / 3, mag: 3.88, phase: 2.5, m: 0.9 },
];

/** Fits noise-free frames S·(1 + m cos(2πk·r + φ + j2π/3)) ⊛ PSF (synthetic OTF, NA 1.2, 128², 62.6 nm). */
function fitSimulated(overrides: Record<string, unknown>): IlluminationEstimate {
  const n = 128;
  const dx = 0.0626;
  const grid = { height: n, width: n, pixelSizeUm: dx };
  const table = otfTableForGrid(syntheticRadialOtf({ na: 1.2, emissionWavelengthNm: 525 }, 0.001, 12), grid);
  const p = resolveParameters(preset(), {
    pixelSizeUm: dx,
    lineSpacingUm: 1 / 3.9,
    startAnglesRad: TRUTH.map((t) => t.angle + 0.006),
    overlapCutoffNA: 1.2,
    excitationWavelengthNm: 525,
    ...overrides,
  });
  const before = memory().liveTensors;
  const est = tidy(() => {
    const obj = rand([n, n], { seed: 7, dtype: 'float64', device: DEVICE }).pow(4);
    const otf = otf2d(table, grid, 'fft', { dtype: 'float64', device: DEVICE });
    const xs = Float64Array.from({ length: n }, (_, i) => (i - n / 2) * dx);
    const frames = TRUTH.flatMap((t) =>
      [0, 1, 2].map((j) => {
        const pat = new Float64Array(n * n);
        const kx = t.mag * Math.cos(t.angle);
        const ky = t.mag * Math.sin(t.angle);
        for (let y = 0; y < n; y++)
          for (let x = 0; x < n; x++)
            pat[y * n + x] =
              1 +
              t.m *
                Math.cos(
                  2 * Math.PI * (kx * (xs[x] as number) + ky * (xs[y] as number)) + t.phase + (j * 2 * Math.PI) / 3,
                );
        const lit = obj.mul(tensor(pat, [n, n], { device: DEVICE }));
        return fft.ifft2(fft.fft2(lit).mul(otf)).real().mul(1000);
      }),
    );
    return estimateCycle(stack(frames).reshape([3, 3, n, n]), table, p, { precision: 'float64', fit: 'reference' });
  });
  assert.equal(memory().liveTensors, before);
  return est;
}

test('recovers k0, phase and modulation depth of simulated noise-free SIM frames', () => {
  fitSimulated({}).orientations.forEach((o, d) => {
    const t = TRUTH[d]!;
    const k = [t.mag * Math.cos(t.angle), t.mag * Math.sin(t.angle)];
    // 128² at 62.6 nm: dk = 0.125 cycles/µm; the reference's parabola lands within a few % of dk.
    const dk = Math.hypot(o.k0PerUm[0] - k[0]!, o.k0PerUm[1] - k[1]!);
    assert.ok(dk < 0.01, `orientation ${d}: |Δk| ${dk}`);
    const dphi = Math.abs(Math.atan2(Math.sin(o.phaseRad - t.phase), Math.cos(o.phaseRad - t.phase)));
    assert.ok(dphi < 0.02, `orientation ${d}: phase ${o.phaseRad} vs ${t.phase}`);
    // Edge apodization and spectral leakage bias m a few % low.
    assert.ok(Math.abs(o.modulation / t.m - 1) < 0.1, `orientation ${d}: m ${o.modulation} vs ${t.m}`);
    assert.equal(o.fallback, false);
  });
});

test('fits that move beyond the tolerances fall back to the preset, phase kept', () => {
  // Start 0.02 rad off: the climb reaches the true angle, 0.02 from the preset > the 0.01 tolerance.
  const starts = TRUTH.map((t, d) => t.angle + (d === 1 ? 0.02 : 0.006));
  const est = fitSimulated({ startAnglesRad: starts, angleToleranceRad: 0.01 });
  const o = est.orientations[1]!;
  assert.ok(Math.abs(o.fitted.angleRad - TRUTH[1]!.angle) < 0.01, `fitted ${o.fitted.angleRad}`);
  assert.deepEqual(o.fallbackReasons, ['angle']);
  assert.equal(o.angleRad, starts[1]);
  assert.ok(Math.abs(o.magnitudePerUm - o.fitted.magnitudePerUm) < 1e-12);
  assert.equal(est.orientations[0]!.fallback, false);
  // A magnitude tolerance tighter than the distance to the preset (3.9 vs 3.93 and 3.88).
  const e2 = fitSimulated({ magnitudeTolerancePerUm: 0.01 });
  assert.deepEqual(
    e2.orientations.map((r) => r.fallbackReasons.includes('magnitude')),
    [false, true, true],
  );
  assert.ok(Math.abs(e2.orientations[1]!.magnitudePerUm - 3.9) < 1e-12);
  assert.ok(Math.abs(e2.orientations[1]!.phaseRad - TRUTH[1]!.phase) < 0.02);
});

test('modulation depth inverts the reference normalisation', () => {
  for (const m of [0, 0.05, 0.3, 0.8, 1, 1.7]) {
    const a = m / 2 / (1 + (m * m) / 4);
    assert.ok(Math.abs(modulationDepth(a) - m) < 1e-12, `m = ${m}`);
  }
  assert.equal(modulationDepth(0.7), 2);
});

test('bad input: frame counts, image size, non-finite data', () => {
  const otf = syntheticRadialOtf({ na: 1.49, emissionWavelengthNm: 525 }, 0.001, 12);
  const p = preset();
  const mk = (frames: number, size: number, data?: Float32Array) => ({
    data: data ?? new Float32Array(frames * size * size).fill(1),
    width: size,
    height: size,
    frames,
  });
  assert.throws(
    () => estimateStack(mk(8, 32), otf, p),
    (e: unknown) => e instanceof ShapeError && /8 frames, not a multiple of 3 orientations × 3 phases/.test(e.message),
  );
  assert.throws(
    () => estimateStack(mk(9, 16), otf, p),
    (e: unknown) => e instanceof ShapeError && /smaller than twice the apodization width/.test(e.message),
  );
  const bad = new Float32Array(9 * 32 * 32).fill(1);
  bad[5 * 1024 + 3 * 32 + 4] = Number.NaN;
  assert.throws(() => estimateStack(mk(9, 32, bad), otf, p), /non-finite value \(NaN\) at frame 5, y 3, x 4/);
  assert.throws(() => estimateStack(mk(9, 32), otf, p, { cycle: 1 }), ParameterError);
});
