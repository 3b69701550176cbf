// Accuracy of the robust fit on simulated cycles whose true angles lie anywhere within ±0.05 rad of
// the presets and whose line spacing lies within ±3% of the expected one, at 100, 1,000 and 10,000
// peak photons; the reference fit's failure rate on the same cycles is printed beside it.
// 256² (the reference's cycle size, MT.mrc's): there the phase's Cramér–Rao bound at 100 photons is
// 0.40–0.52° per orientation, so 3° is ≥ 5.8σ and every orientation must make it. On 128² the bound
// reaches 1.7° and no estimator can promise 3° for every orientation (phase.test.ts tests that size
// against the bound instead).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Tensor, tidy } from '../../src/engine/index.js';
import { estimateCycle, type IlluminationEstimate } from '../../src/sim/fit/estimate.js';
import { otfTableForGrid, syntheticRadialOtf } from '../../src/sim/otf.js';
import { simulatorParameters } from '../../src/sim/simulate/optics.js';
import { simulateSample } from '../../src/sim/simulate/sample.js';
import type { TrueParameters } from '../../src/sim/simulate/truth.js';
import { DEVICE } from '../helpers.js';

const N = 256;
const SEEDS = 12;
const TOL = { angleRad: 0.002, spacing: 0.003, phaseRad: (3 * Math.PI) / 180 };
const wrap = (a: number) => Math.atan2(Math.sin(a), Math.cos(a));

interface Errors {
  angle: number;
  spacing: number;
  /** |error|, rad. */
  phase: number;
  /** Signed phase error, rad. */
  signedPhase: number;
  /** Signed phase error over the fit's own standard error (robust fit only; NaN without one). */
  z: number;
}

function errors(e: IlluminationEstimate, truth: TrueParameters): Errors[] {
  return e.orientations.map((o, d) => {
    const t = truth.orientations[d] as TrueParameters['orientations'][number];
    return {
      angle: Math.abs(wrap(o.angleRad - t.angleRad)),
      spacing: Math.abs(o.spacingUm / t.spacingUm - 1),
      phase: Math.abs(wrap(o.phaseRad - t.phaseRad)),
      signedPhase: wrap(o.phaseRad - t.phaseRad),
      z: wrap(o.phaseRad - t.phaseRad) / (o.reliability?.phaseSdRad ?? Number.NaN),
    };
  });
}

const ok = (x: Errors) => x.angle <= TOL.angleRad && x.spacing <= TOL.spacing && x.phase <= TOL.phaseRad;

test('robust fit recovers k0 and phase with presets up to 0.05 rad and 3% off; reference rate beside it', () => {
  const p = simulatorParameters();
  const grid = { height: N, width: N, pixelSizeUm: p.pixelSizeUm };
  const table = otfTableForGrid(
    syntheticRadialOtf({ na: p.detectionNA, emissionWavelengthNm: p.emissionWavelengthNm }, 0.001, 16),
    grid,
  );
  const lines: string[] = [];
  const allZ: number[] = [];
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
    const meanPhase = robust.reduce((a, x) => a + x.signedPhase, 0) / robust.length;
    const rmsPhase = Math.sqrt(robust.reduce((a, x) => a + x.phase ** 2, 0) / robust.length);
    const rate = (xs: Errors[]) => `${xs.filter((x) => !ok(x)).length}/${xs.length}`;
    const zRms = Math.sqrt(robust.reduce((a, x) => a + x.z ** 2, 0) / robust.length);
    allZ.push(...robust.map((x) => x.z));
    lines.push(
      `${String(photons).padStart(6)} photons: robust fails ${rate(robust)} (worst ${(worst(robust, 'angle') * 1e3).toFixed(2)} mrad, ` +
        `${(worst(robust, 'spacing') * 100).toFixed(3)}%, ${((worst(robust, 'phase') * 180) / Math.PI).toFixed(2)}°, ` +
        `phase rms ${((rmsPhase * 180) / Math.PI).toFixed(2)}°, mean ${((meanPhase * 180) / Math.PI).toFixed(2)}°, ` +
        `error/σφ rms ${zRms.toFixed(2)}); ` +
        `reference fails ${rate(reference)}`,
    );
    // Every orientation within tolerance at every photon level.
    for (const [i, x] of robust.entries()) assert.ok(ok(x), `${photons} photons, case ${i}: ${JSON.stringify(x)}`);
    // No bias: the mean signed phase error is within ~4 standard errors of 0 (σ ≈ 0.45° at 100 photons).
    assert.ok(Math.abs(meanPhase) < (0.4 * Math.PI) / 180, `${photons} photons: mean phase error ${meanPhase} rad`);
    // Near the bound (0.48° rms at 100 photons): −arg(modamp) at the same vectors gives 1.1°.
    if (photons === 100) assert.ok(rmsPhase < (0.72 * Math.PI) / 180, `rms phase error ${rmsPhase} rad`);
    // The set is hard for the hill climb (the failure the robust fit exists for).
    assert.ok(reference.filter((x) => !ok(x)).length >= reference.length / 4, rate(reference));
    // The reported phase uncertainty is the size of the errors (36 draws: the rms of error/σφ is
    // 1 ± 0.12 for a right σφ; seen 0.93–1.26), not half or twice it.
    assert.ok(zRms > 0.7 && zRms < 1.45, `${photons} photons: error/σφ rms ${zRms}`);
  }
  // Over all 108 orientations (1 ± 0.07 for a right σφ; seen 1.09): leaving out the noise map or the
  // factor ½ across S would give ~1.6–2 or ~0.75.
  const pooled = Math.sqrt(allZ.reduce((a, z) => a + z * z, 0) / allZ.length);
  assert.ok(pooled > 0.85 && pooled < 1.3, `error/σφ rms over all levels ${pooled}`);
  process.stdout.write(`# robust vs reference fit, ${SEEDS} cycles × 3 orientations per level, ${N}²:\n`);
  for (const l of lines) process.stdout.write(`# ${l}\n`);
});
