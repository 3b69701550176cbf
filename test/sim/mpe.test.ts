import assert from 'node:assert/strict';
import { test } from 'node:test';
import { F, fft, memory, type Tensor, tensor, tidy } from '../../src/engine/index.js';
import { equalizationFactors } from '../../src/sim/equalize.js';
import { cycleTensor } from '../../src/sim/frames.js';
import { axisFrequencies } from '../../src/sim/grid.js';
import { generateMpe } from '../../src/sim/mpe.js';
import { otf2d, otfTableForGrid } from '../../src/sim/otf.js';
import { preset } from '../../src/sim/params.js';
import { patterns, srToRawGrid } from '../../src/sim/pattern.js';
import { assertClose, DEVICE } from '../helpers.js';
import { fitFixture, interFixture, loadMt, loadOtf, SKIP_REAL } from './mt.js';

const N = 256;
const DX = 0.0626;
const GRID = { height: N, width: N, pixelSizeUm: DX };
const orients = () =>
  fitFixture.orientations.map((o: { rdl: { kx: number; ky: number; phase: number } }) => ({
    k0PerUm: [o.rdl.kx, o.rdl.ky] as [number, number],
    phaseRad: o.rdl.phase,
  }));

/** The fixture's SR proxy: widefield mean − 100, clipped, bilinear ×2, then srToRawGrid. */
function fixtureProxy(frames: Tensor): Tensor {
  return tidy(() => {
    const wf = frames.reshape([9, N, N]).mean(0).sub(100).clamp(0);
    const up = F.interpolate(wf.reshape([1, 1, N, N]), [2 * N, 2 * N], 'bilinear').reshape([2 * N, 2 * N]);
    return srToRawGrid(up, N, N);
  });
}

test('patterns, MPE and equalization on MT.mrc equal the reference', { skip: SKIP_REAL }, () => {
  const ref = interFixture;
  const before = memory().liveTensors;
  tidy(() => {
    const opts = { dtype: 'float64' as const, device: DEVICE };
    const frames = cycleTensor(loadMt(), preset(), opts);
    const sr = fixtureProxy(frames);
    const srv = sr.toArray() as Float64Array;
    assert.ok(Math.abs(srv.reduce((a, b) => a + b, 0) - ref.mpe.sr_raw_grid_sum) < 1e-6);
    for (const [r, c, v] of ref.mpe.sr_raw_grid_at)
      assertClose([srv[r * N + c] as number], [v], 1e-9, 0, `sr[${r},${c}]`);
    const pats = patterns(orients(), 3, GRID, opts)
      .reshape([9, N * N])
      .toArray() as Float64Array;
    ref.mpe.pattern_at.forEach((pts: number[][], f: number) => {
      for (const [r, c, v] of pts)
        assertClose([pats[f * N * N + r! * N + c!] as number], [v!], 1e-9, 0, `pattern ${f}[${r},${c}]`);
    });
    const table = otfTableForGrid(loadOtf(), GRID);
    const mpe = generateMpe(sr, orients(), 3, table, DX, { ...opts, normalization: 'none' }).reshape([9, N * N]);
    assertClose(Array.from(mpe.sum(1).toArray()), ref.mpe.mpe_raw_sums, 1e-6, 1e-9, 'MPE sums');
    const mv = mpe.toArray() as Float64Array;
    ref.mpe.mpe_raw_at.forEach((pts: number[][], f: number) => {
      for (const [r, c, v] of pts)
        assertClose([mv[f * N * N + r! * N + c!] as number], [v!], 1e-9, 0, `MPE ${f}[${r},${c}]`);
    });
    const joint = generateMpe(sr, orients(), 3, table, DX, { ...opts, normalization: 'joint' }).reshape([9, N * N]);
    assertClose(Array.from(joint.sum(1).toArray()), ref.mpe.train_joint_minmax_sums, 1e-5, 1e-9, 'joint sums');
    const per = generateMpe(sr, orients(), 3, table, DX, { ...opts, normalization: 'per-frame' }).reshape([9, N * N]);
    assertClose(Array.from(per.sum(1).toArray()), ref.mpe.predict_per_frame_minmax_sums, 1e-5, 1e-9, 'per-frame sums');
    assertClose(equalizationFactors(frames), ref.equalization.predict_script_raw_over_65535, 1e-12);
  });
  assert.equal(memory().liveTensors, before);
});

/**
 * Physics: the phase-varying part of each generated frame (frame − mean of its orientation's 3)
 * must correlate best with the same part of its own measured frame. SR proxy: the widefield
 * Wiener-deconvolved (OTF/(OTF² + 0.05²)), which restores the object frequencies near the pattern
 * frequency that band 1 carries. Both parts are compared within the band-1 region where the
 * object is well measured: |q| < 3.5 and |q ± k0| < 3.5 cycles/µm.
 */
test('each MPE frame of MT.mrc matches its own measured phase best (9/9)', { skip: SKIP_REAL }, () => {
  const before = memory().liveTensors;
  tidy(() => {
    const opts = { dtype: 'float64' as const, device: DEVICE };
    const frames = cycleTensor(loadMt(), preset(), opts);
    const table = otfTableForGrid(loadOtf(), GRID);
    const otf = otf2d(table, GRID, 'fft', opts);
    const wf = frames.reshape([9, N, N]).mean(0).sub(100).clamp(0);
    const wiener = otf.div(otf.square().add(0.05 ** 2));
    const sr = fft.ifft2(fft.fft2(wf).mul(wiener)).real().clamp(0);
    const mpe = generateMpe(sr, orients(), 3, table, DX, opts);
    const q = axisFrequencies(N, 1 / (N * DX), 'fft');
    const os = orients();
    for (let d = 0; d < 3; d++) {
      const [kx, ky] = os[d]!.k0PerUm;
      const mask = new Float64Array(N * N);
      for (let y = 0; y < N; y++)
        for (let x = 0; x < N; x++) {
          const qx = q[x] as number;
          const qy = q[y] as number;
          const r0 = Math.hypot(qx, qy) < 3.5;
          const plus = Math.hypot(qx + kx, qy + ky) < 3.5;
          const minus = Math.hypot(qx - kx, qy - ky) < 3.5;
          mask[y * N + x] = r0 && (plus || minus) ? 1 : 0;
        }
      const m = tensor(mask, [N, N], opts);
      const varying = (t: Tensor) => {
        const part = t.sub(t.mean(0, true));
        return fft
          .ifft2(fft.fft2(part).mul(m))
          .real()
          .reshape([3, N * N]);
      };
      const a = varying(frames.select(0, d)); // measured
      const b = varying(mpe.select(0, d)); // generated
      const corr = (u: Tensor, v: Tensor) => {
        const uc = u.sub(u.mean());
        const vc = v.sub(v.mean());
        return uc.mul(vc).sum().item() / Math.sqrt(uc.square().sum().item() * vc.square().sum().item());
      };
      for (let j = 0; j < 3; j++) {
        const r = [0, 1, 2].map((i) => corr(b.select(0, j), a.select(0, i)));
        const others = Math.max(...r.filter((_, i) => i !== j));
        assert.ok(r[j]! > others, `orientation ${d}, phase ${j}: r = ${r.map((v) => v.toFixed(4))}`);
      }
    }
  });
  assert.equal(memory().liveTensors, before);
});
