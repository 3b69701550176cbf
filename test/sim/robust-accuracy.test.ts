// Accuracy of the robust fit on simulated cycles whose true angles lie anywhere within ±0.05 rad of
// the presets and whose line spacing lies within ±3% of the expected one, at 100, 1,000 and 10,000
// peak photons; the reference fit's failure rate on the same cycles is printed beside it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Tensor, tidy } from '../../src/engine/index.js';
import { estimateCycle, type IlluminationEstimate } from '../../src/sim/estimate.js';
import { otfTableForGrid, syntheticRadialOtf } from '../../src/sim/otf.js';
import { simulatorParameters } from '../../src/sim/simulate/optics.js';
import { simulateSample } from '../../src/sim/simulate/sample.js';
import type { TrueParameters } from '../../src/sim/simulate/truth.js';
import { DEVICE } from '../helpers.js';

const N = 128;
const SEEDS = 5;
const TOL = { angleRad: 0.002, spacing: 0.003, phaseRad: (3 * Math.PI) / 180 };
const wrap = (a: number) => Math.atan2(Math.sin(a), Math.cos(a));

interface Errors {
  angle: number;
  spacing: number;
  phase: number;
}

function errors(e: IlluminationEstimate, truth: TrueParameters): Errors[] {
  return e.orientations.map((o, d) => {
    const t = truth.orientations[d] as TrueParameters['orientations'][number];
    return {
      angle: Math.abs(wrap(o.angleRad - t.angleRad)),
      spacing: Math.abs(o.spacingUm / t.spacingUm - 1),
      phase: Math.abs(wrap(o.phaseRad - t.phaseRad)),
    };
  });
}

const ok = (x: Errors) => x.angle <= TOL.angleRad && x.spacing <= TOL.spacing && x.phase <= TOL.phaseRad;
const kOk = (x: Errors) => x.angle <= TOL.angleRad && x.spacing <= TOL.spacing;

test('robust fit recovers k0 and phase with presets up to 0.05 rad and 3% off; reference rate beside it', () => {
  const p = simulatorParameters();
  const grid = { height: N, width: N, pixelSizeUm: p.pixelSizeUm };
  const table = otfTableForGrid(
    syntheticRadialOtf({ na: p.detectionNA, emissionWavelengthNm: p.emissionWavelengthNm }, 0.001, 16),
    grid,
  );
  const lines: string[] = [];
  for (const photons of [100, 1000, 10000]) {
    const robust: Errors[] = [];
    const reference: Errors[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const s = simulateSample({
        structure: seed % 2 ? 'microtubules' : 'er',
        height: N,
        width: N,
        params: p,
        seed: seed * 7919 + photons,
        photons,
        device: DEVICE,
        illumination: { angleJitterRad: 0.05, magnitudeJitter: 0.03 },
      });
      tidy(() => {
        const frames: Tensor = s.noisy.select(0, 0);
        robust.push(...errors(estimateCycle(frames, table, p, { device: DEVICE }), s.truth));
        reference.push(...errors(estimateCycle(frames, table, p, { device: DEVICE, fit: 'reference' }), s.truth));
      });
      for (const t of [s.noisy, s.target, s.clean, s.sr]) t.dispose();
    }
    const worst = (xs: Errors[], f: keyof Errors) => Math.max(...xs.map((x) => x[f]));
    const rate = (xs: Errors[]) => `${xs.filter((x) => !ok(x)).length}/${xs.length}`;
    lines.push(
      `${String(photons).padStart(6)} photons: robust fails ${rate(robust)} (worst ${(worst(robust, 'angle') * 1e3).toFixed(2)} mrad, ` +
        `${(worst(robust, 'spacing') * 100).toFixed(3)}%, ${((worst(robust, 'phase') * 180) / Math.PI).toFixed(2)}°); ` +
        `reference fails ${rate(reference)}`,
    );
    // k0 is within tolerance at every photon level.
    for (const [i, x] of robust.entries()) assert.ok(kOk(x), `${photons} photons, case ${i}: ${JSON.stringify(x)}`);
    if (photons >= 1000)
      for (const [i, x] of robust.entries()) assert.ok(ok(x), `${photons} photons, case ${i}: ${JSON.stringify(x)}`);
    else {
      // At 100 peak photons on 128² the phase is noise-limited (σ ≈ 2–3°, no bias): k0 is right, but
      // only about two thirds of the phases fall within 3°; none beyond 8°.
      assert.ok(robust.filter(ok).length >= 0.5 * robust.length, rate(robust));
      for (const x of robust) assert.ok(x.phase < (8 * Math.PI) / 180, JSON.stringify(x));
    }
    // The set is hard for the hill climb (the failure the robust fit exists for).
    assert.ok(reference.filter((x) => !ok(x)).length >= reference.length / 4, rate(reference));
  }
  process.stdout.write(`# robust vs reference fit, ${SEEDS} cycles × 3 orientations per level, ${N}²:\n`);
  for (const l of lines) process.stdout.write(`# ${l}\n`);
});
