import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { dispose, memory, ones, type Tensor } from '../../src/engine/index.js';
import { ParameterError } from '../../src/errors.js';
import { readImageStack } from '../../src/io/stack.js';
import { estimateCycle } from '../../src/sim/fit/estimate.js';
import { otfTableForGrid, syntheticRadialOtf } from '../../src/sim/otf.js';
import { writeDataset } from '../../src/sim/simulate/dataset.js';
import { cleanCycle, opticsOf } from '../../src/sim/simulate/forward.js';
import { simulatorParameters } from '../../src/sim/simulate/optics.js';
import { simulateSample } from '../../src/sim/simulate/sample.js';
import { STRUCTURE_KINDS } from '../../src/sim/simulate/structures.js';
import { trueOrientation } from '../../src/sim/simulate/truth.js';
import { DEVICE } from '../helpers.js';
import { tempDir } from '../io/tmp.js';

const P = simulatorParameters();
const wrap = (a: number) => Math.atan2(Math.sin(a), Math.cos(a));

test('the same seed gives the same sample; another seed another', () => {
  const spec = { structure: 'ccps' as const, height: 64, width: 64, params: P, photons: 50, device: DEVICE };
  const a = simulateSample({ ...spec, seed: 5 });
  const b = simulateSample({ ...spec, seed: 5 });
  const c = simulateSample({ ...spec, seed: 6 });
  assert.deepEqual(a.noisy.toArray(), b.noisy.toArray());
  assert.deepEqual(a.truth, b.truth);
  assert.notDeepEqual(a.noisy.toArray(), c.noisy.toArray());
  assert.deepEqual(a.noisy.shape, [1, 3, 3, 64, 64]);
  assert.deepEqual(a.sr.shape, [128, 128]);
  // Counts: offset 100, integers, within uint16.
  const v = a.noisy.toFloat32Array();
  assert.ok(v.every((x) => Number.isInteger(x) && x >= 0 && x <= 65535));
  const mean = v.reduce((p, q) => p + q, 0) / v.length;
  assert.ok(mean > 100 && mean < 150, `mean ${mean}`);
  dispose([a, b, c]);
});

test('every structure kind renders non-empty, bounded ground truth', () => {
  for (const structure of STRUCTURE_KINDS) {
    const s = simulateSample({ structure, height: 64, width: 64, params: P, photons: 100, seed: 1, device: DEVICE });
    assert.ok(Math.abs(s.sr.max().item() - 1) < 1e-6, structure);
    assert.ok(s.sr.mean().item() > 0.002, `${structure}: mean ${s.sr.mean().item()}`);
    dispose(s);
  }
  assert.throws(
    () => simulateSample({ structure: 'cats' as never, height: 64, width: 64, params: P, photons: 1, seed: 1 }),
    ParameterError,
  );
});

test('raw frames follow 1 + m·cos(2πk·r + φ) with r from pixel (H/2, W/2), the estimate convention', () => {
  // A uniform object: each frame is then the pattern seen through the OTF and the pixel.
  const n = 64;
  const truth = { orientations: [trueOrientation(0.3, 3.0, 1.1, 0.8), trueOrientation(2.4, 3.1, -2.5, 0.8)] };
  const density = ones([2 * n, 2 * n], { device: DEVICE });
  const { raw, sr } = cleanCycle(density, 0.02, truth, opticsOf(P));
  const v = raw.toFloat32Array();
  truth.orientations.forEach((o, d) => {
    for (let j = 0; j < 3; j++) {
      let re = 0;
      let im = 0;
      for (let y = 0; y < n; y++) {
        for (let x = 0; x < n; x++) {
          const arg = 2 * Math.PI * (o.k0PerUm[0] * (x - n / 2) + o.k0PerUm[1] * (y - n / 2)) * P.pixelSizeUm;
          const val = v[((d * 3 + j) * n + y) * n + x]!;
          re += val * Math.cos(arg);
          im += val * Math.sin(arg);
        }
      }
      // Σ D·e^{iθ(r)} ∝ e^{−i(φ + 2πj/3)}: demodulation recovers the phase.
      const phase = -Math.atan2(im, re);
      const err = Math.abs(wrap(phase - (o.phaseRad + (2 * Math.PI * j) / 3)));
      assert.ok(err < 0.05, `orientation ${d}, phase ${j}: error ${err} rad`);
    }
  });
  dispose([density, raw, sr]);
});

test('round trip: rdl estimate recovers the true pattern at 100, 300 and 1000 peak photons', () => {
  const before = memory().liveTensors;
  const report: string[] = [];
  // 100 photons on 512² (the phase is noise-limited: ~1.5° worst there, ~3° on 256²).
  for (const [photons, n, seed] of [
    [100, 512, 21],
    [300, 256, 22],
    [1000, 256, 23],
  ] as const) {
    const s = simulateSample({
      structure: 'microtubules',
      height: n,
      width: n,
      params: P,
      photons,
      seed,
      device: DEVICE,
    });
    const otf = syntheticRadialOtf({ na: P.detectionNA, emissionWavelengthNm: P.emissionWavelengthNm }, 0.001, 64);
    const table = otfTableForGrid(otf, { height: n, width: n, pixelSizeUm: P.pixelSizeUm });
    const frames = s.noisy.select(0, 0);
    const est = estimateCycle(frames, table, P, { device: DEVICE });
    est.orientations.forEach((e, d) => {
      const t = s.truth.orientations[d]!;
      const da = Math.abs(wrap(e.angleRad - t.angleRad));
      const ds = Math.abs(e.spacingUm - t.spacingUm) / t.spacingUm;
      const dp = (Math.abs(wrap(e.phaseRad - t.phaseRad)) * 180) / Math.PI;
      report.push(
        `${photons} ph, orientation ${d}: ${(da * 1e3).toFixed(2)} mrad, ${(ds * 100).toFixed(3)}%, ${dp.toFixed(2)}°`,
      );
      assert.equal(e.fallback, false);
      assert.ok(da < 2e-3, report.at(-1));
      assert.ok(ds < 3e-3, report.at(-1));
      assert.ok(dp < 3, report.at(-1));
    });
    dispose([s, frames]);
  }
  if (process.env.RDL_VERBOSE) console.log(report.join('\n'));
  assert.equal(memory().liveTensors, before);
});

test('data sets in the sr, dn and mrc layouts', () => {
  const tmp = tempDir('simulate');
  const common = {
    structure: 'beads' as const,
    size: 32,
    params: P,
    seed: 3,
    photons: [50, 500],
    train: 2,
    val: 1,
    device: DEVICE,
  };
  writeDataset({ ...common, root: tmp.dir, name: 'sr', layout: 'sr' });
  writeDataset({ ...common, root: tmp.dir, name: 'dn', layout: 'dn' });
  writeDataset({ ...common, root: tmp.dir, name: 'tl', layout: 'mrc', cycles: 2 });
  const r = (p: string) => readImageStack(join(tmp.dir, p));
  assert.deepEqual([r('sr/train/1.tif').frames, r('sr/train_gt/1.tif').width], [9, 64]);
  assert.deepEqual([r('dn/val/1.tif').frames, r('dn/val_gt/1.tif').frames, r('dn/val_gt/1.tif').width], [9, 9, 32]);
  const tl = r('tl_500ph.mrc');
  assert.deepEqual([tl.frames, tl.width, tl.dtype], [18, 32, 'uint16']);
  assert.ok(existsSync(join(tmp.dir, 'tl_50ph_sr_gt.tif')) && existsSync(join(tmp.dir, 'tl_50ph_gt.mrc')));
  const truth = JSON.parse(readFileSync(join(tmp.dir, 'sr/train_params/2.json'), 'utf8'));
  assert.equal(truth.orientations.length, 3);
  for (const k of [
    'k0PerUm',
    'angleRad',
    'magnitudePerUm',
    'spacingUm',
    'phaseRad',
    'modamp',
    'modulation',
    'fallback',
  ]) {
    assert.ok(k in truth.orientations[0], k);
  }
  const params = JSON.parse(readFileSync(join(tmp.dir, 'sim_parameters.json'), 'utf8'));
  assert.equal(params.detectionNA, 1.49);
});

test('bad simulator input is refused', () => {
  const base = { structure: 'beads' as const, height: 64, width: 64, params: P, photons: 10, seed: 1 };
  assert.throws(() => simulateSample({ ...base, height: 63 }), /size \(height\)/);
  assert.throws(() => simulateSample({ ...base, photons: 0 }), /photons/);
  assert.throws(() => simulateSample({ ...base, seed: -1 }), /seed/);
  assert.throws(() => simulateSample({ ...base, illumination: { modulation: 1.5 } }), /modulation/);
});

export type { Tensor };
