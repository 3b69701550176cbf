// How the fit, the Wiener reconstruction and the MPE scale with the grid (issue #21): pinned by
// counts (candidates, samples, live tensor bytes against one plane), never by times. The large-grid
// fit path (a crop for the coarse search, the whole grid for the refinement) is also exercised on
// small grids through its working-size option, against the whole-grid fit of the same cycle.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dispose, memory, rand, tidy } from '../../src/engine/index.js';
import { estimateCycle } from '../../src/sim/fit/estimate.js';
import { DEFAULT_WINDOW } from '../../src/sim/fit/window.js';
import { chooseCrop, fitPlan, lobeHalfWidthDk, workingSize } from '../../src/sim/fit/working.js';
import { frequencySteps } from '../../src/sim/grid.js';
import { generateMpe, lastMpePeakBytes } from '../../src/sim/mpe.js';
import { otfTableForGrid, syntheticRadialOtf } from '../../src/sim/otf.js';
import { expectedMagnitudePerUm } from '../../src/sim/params.js';
import { lastWienerPeakBytes, wienerReconstruct } from '../../src/sim/reconstruct/wiener.js';
import { simulatorParameters } from '../../src/sim/simulate/optics.js';
import { simulateSample } from '../../src/sim/simulate/sample.js';
import { DEVICE } from '../helpers.js';

const P = simulatorParameters();
const OTF = syntheticRadialOtf({ na: P.detectionNA, emissionWavelengthNm: P.emissionWavelengthNm }, 0.001, 64);
const wrap = (a: number) => Math.atan2(Math.sin(a), Math.cos(a));
const grid = (n: number) => ({ height: n, width: n, pixelSizeUm: P.pixelSizeUm });
const plan = (n: number) => fitPlan(grid(n), P.startAnglesRad, expectedMagnitudePerUm(P), DEFAULT_WINDOW);

test('fit plan: the coarse search has as many candidates at 1024² and 2048² as at 512²', () => {
  const [p256, p512, p1024, p2048, p4096, p8192] = [256, 512, 1024, 2048, 4096, 8192].map(plan) as [
    ReturnType<typeof plan>,
    ReturnType<typeof plan>,
    ReturnType<typeof plan>,
    ReturnType<typeof plan>,
    ReturnType<typeof plan>,
    ReturnType<typeof plan>,
  ];
  // Up to the working size the grid is searched whole (unchanged): samples grow with the grid's area.
  assert.deepEqual(p256.coarseGrid, { height: 256, width: 256 });
  assert.deepEqual(p512.coarseGrid, { height: 512, width: 512 });
  assert.equal(p512.lobeSamples, 0);
  assert.ok(p512.coarseSamples > 3 * p256.coarseSamples && p512.coarseSamples < 5 * p256.coarseSamples);
  // Beyond it, a 512² crop: the same candidates however large the grid (before: 4× per doubling).
  for (const p of [p1024, p2048, p4096, p8192]) {
    assert.deepEqual(p.coarseGrid, { height: 512, width: 512 });
    assert.equal(p.coarseSamples, p512.coarseSamples);
  }
  // The whole grid's lobe search: a few samples per orientation, bounded.
  assert.equal(p1024.lobeHalfWidthDk, 1.5);
  assert.equal(p2048.lobeHalfWidthDk, 3);
  assert.equal(p2048.lobeSamples, 3 * 13 * 13);
  assert.equal(p8192.lobeSamples, p4096.lobeSamples);
  assert.ok(p8192.lobeSamples <= 3 * 25 * 25);
  // Non-square and odd grids: the crop never exceeds the grid.
  assert.deepEqual(workingSize({ height: 2048, width: 300, pixelSizeUm: 0.0626 }), { height: 512, width: 300 });
  assert.equal(workingSize({ height: 512, width: 512, pixelSizeUm: 0.0626 }), null);
  assert.equal(lobeHalfWidthDk(grid(600), { height: 512, width: 512 }), 1.5);
});

test('crop choice: the most modulated block, not the centre', () => {
  const H = 96;
  const W = 128;
  const power = new Float32Array(H * W).fill(1);
  // A bright patch in the top-right corner.
  for (let y = 4; y < 28; y++) for (let x = 96; x < 124; x++) power[y * W + x] = 50;
  const c = chooseCrop(power, H, W, 32, 32);
  assert.ok(c.y0 <= 4 && c.y0 + 32 >= 28, `y0 ${c.y0}`);
  assert.ok(c.x0 <= 96 && c.x0 + 32 >= 124, `x0 ${c.x0}`);
  // Uniform: the centre.
  const flat = chooseCrop(new Float32Array(H * W).fill(1), H, W, 32, 32);
  assert.deepEqual(flat, { y0: 32, x0: 48 });
});

test('large-grid path (crop search, whole-grid refinement) finds what the whole-grid fit finds', () => {
  // A 256² cycle fitted as if 128² were the working size: the coarse search on a 128² crop, the
  // lobe search and refinement on the whole grid.
  const n = 256;
  const g = grid(n);
  const table = otfTableForGrid(OTF, g);
  const { dkx } = frequencySteps(g);
  const before = memory().liveTensors;
  for (const seed of [1, 2]) {
    const s = simulateSample({
      structure: 'microtubules',
      height: n,
      width: n,
      params: P,
      photons: 100,
      seed,
      device: DEVICE,
    });
    const frames = s.noisy.select(0, 0);
    const whole = estimateCycle(frames, table, P, { device: DEVICE });
    const large = estimateCycle(frames, table, P, { device: DEVICE, workingSizePx: 128 });
    large.orientations.forEach((o, d) => {
      const w = whole.orientations[d]!;
      const t = s.truth.orientations[d]!;
      const dk = Math.hypot(o.k0PerUm[0] - w.k0PerUm[0], o.k0PerUm[1] - w.k0PerUm[1]) / dkx;
      assert.ok(dk < 0.02, `seed ${seed}, orientation ${d}: k0 ${dk} dk from the whole-grid fit's`);
      assert.ok(Math.abs(wrap(o.phaseRad - w.phaseRad)) < 1e-3, `seed ${seed}, orientation ${d}: phase`);
      assert.ok(Math.abs(wrap(o.phaseRad - t.phaseRad)) < (3 * Math.PI) / 180, `seed ${seed}, orientation ${d}`);
      assert.equal(o.fallback, false);
      // The reliability figures come from the crop (peak ratio, modulation) and the whole grid (σφ).
      assert.equal(o.reliability?.reliable, true, o.reliability?.warnings.join('; '));
      assert.ok(Math.abs((o.reliability?.phaseSdRad ?? 0) / (w.reliability?.phaseSdRad ?? 1) - 1) < 0.01);
      // The crop's modamp, its phase referred to the grid's centre: −arg(modamp) near the phase.
      assert.ok(Math.abs(wrap(-Math.atan2(o.modamp[1], o.modamp[0]) - o.phaseRad)) < 0.2, `orientation ${d}`);
    });
    dispose([s, frames]);
  }
  assert.equal(memory().liveTensors, before);
});

test('Wiener reconstruction: live memory a fixed number of 2× grid planes, whatever the size', () => {
  const ratios = [96, 192].map((n) => {
    const s = simulateSample({ structure: 'beads', height: n, width: n, params: P, photons: 300, seed: 5 });
    const frames = s.noisy.select(0, 0);
    const r = tidy(() => wienerReconstruct(frames, OTF, P, s.truth.orientations).image.sum().item());
    assert.ok(Number.isFinite(r));
    dispose([s, frames]);
    // One complex plane of the 2× grid: 2n × 2n × 8 bytes.
    return lastWienerPeakBytes() / (4 * n * n * 8);
  });
  // Before: ~100 planes at 2048² (14 GB). Now ~3.7: the preprocessed frames (1.1 planes), the
  // sums num and den (1.5), one band's round trip on the 2× grid (2 planes at its peak, less num's
  // share of the boxes).
  for (const r of ratios) assert.ok(r < 5, `peak ${r.toFixed(2)} planes`);
  assert.ok(Math.abs((ratios[1] as number) / (ratios[0] as number) - 1) < 0.15, `${ratios}`);
});

test('MPE: one orientation at a time, live memory the output and a few planes', () => {
  const table = otfTableForGrid(OTF, grid(256));
  const orients = P.startAnglesRad.map((a, d) => ({
    k0PerUm: [5 * Math.cos(a), 5 * Math.sin(a)] as [number, number],
    phaseRad: 0.3 * d,
  }));
  for (const n of [128, 256]) {
    const t = otfTableForGrid(OTF, grid(n));
    const sr = rand([n, n], { seed: 2, device: DEVICE });
    const mpe = generateMpe(sr, orients, 3, t, P.pixelSizeUm, { device: DEVICE });
    const output = 9 * n * n * 4;
    const plane = n * n * 8;
    // Before: the whole stack's spectra and copies at once (2048²: 4.4 GB of resident growth). Now
    // the output and, at the peak, one orientation's spectra and images (3 + 3 complex planes), the
    // object and the OTF (½ + ½): 7 planes over the output at any size.
    const peak = (lastMpePeakBytes() - output) / plane;
    assert.ok(peak < 7.5, `${n}²: output + ${peak.toFixed(2)} planes`);
    dispose([sr, mpe]);
  }
  assert.ok(table.values.length > 0);
});
