// Training works end to end: every parameter gets a gradient, and a small network overfits one
// batch. (Small presets on CPU; no timing assertions.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Adam, F, memory, noGrad, rand, type Tensor, tidy } from '../../src/engine/index.js';
import { DENOISER_SMALL, RdlDenoiser } from '../../src/models/denoiser.js';
import { DFCAN, DFCAN_SMALL } from '../../src/models/dfcan.js';
import { RCAN3D, RCAN3D_SMALL } from '../../src/models/rcan3d.js';
import { mse, mseGar, mseSsim } from '../../src/nn/losses.js';
import type { Module } from '../../src/nn/module.js';
import { DEVICE } from '../helpers.js';

function assertAllGradients(m: Module, what: string): void {
  for (const [name, p] of m.namedParameters()) {
    const g = p.grad;
    assert.ok(g !== null, `${what}: no gradient for ${name}`);
    const s = tidy(() => g.abs().sum().item());
    assert.ok(Number.isFinite(s) && s > 0, `${what}: gradient of ${name} is ${s}`);
    g.dispose();
  }
}

const u = (shape: number[], seed: number) => rand(shape, { seed, device: DEVICE });

test('gradients reach every parameter of every network (NSM cutoff and slope included)', () => {
  // A gentle NSM edge (slope 2 per cycles/µm), so that its parameters get a sizeable gradient.
  const nsm2d = { cutoff: 4, slope: 2, pixelSizeUm: 0.0626, features: 4 };
  const nsm3d = { cutoff: 3, slope: 2, pixelSizeUm: 0.0926 };
  const cases: Array<[string, Module, () => Tensor]> = [];
  const dfcan = new DFCAN(DFCAN_SMALL, { seed: 1 });
  cases.push(['DFCAN', dfcan, () => mseSsim(dfcan.forward(u([2, 9, 24, 24], 1)), u([2, 1, 48, 48], 2))]);
  for (const nsm of [null, nsm2d]) {
    const d = new RdlDenoiser({ ...DENOISER_SMALL, nsm }, { seed: 2 });
    cases.push([
      `denoiser nsm=${!!nsm}`,
      d,
      () => mseSsim(d.forward(u([3, 3, 24, 24], 3), u([3, 3, 24, 24], 4)), u([3, 3, 24, 24], 5)),
    ]);
  }
  for (const nsm of [null, nsm3d]) {
    const r = new RCAN3D({ ...RCAN3D_SMALL, channels: 2, nsm }, { seed: 3 });
    cases.push([
      `rcan3d nsm=${!!nsm}`,
      r,
      () => mseGar(r.forward(u([1, 2, 4, 16, 16], 6)), u([1, 2, 4, 16, 16], 7), u([1, 2, 4, 16, 16], 8).mul(0.1)),
    ]);
  }
  for (const [what, m, loss] of cases) {
    // A ReLU unit of an attention squeeze that is negative for the whole batch has, rightly, a
    // zero gradient; a positive bias keeps every unit live so that a missing path shows up.
    noGrad(() => {
      for (const [name, p] of m.namedParameters()) if (name.endsWith('attention.down.bias')) p.fill_(1);
    });
    tidy(() => loss().backward());
    assertAllGradients(m, what);
    m.dispose();
  }
});

/** Adam steps on one batch; returns the loss of every step. */
function fit(m: Module, steps: number, loss: () => Tensor): number[] {
  const opt = new Adam(m.parameters(), { lr: 2e-3, epsStyle: 'keras' });
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    losses.push(
      tidy(() => {
        opt.zeroGrad();
        const l = loss();
        l.backward();
        opt.step();
        return l.item();
      }),
    );
  }
  opt.dispose();
  return losses;
}

test('a small rDL denoiser overfits one batch: MSE falls at least 10× in 100 Adam steps', () => {
  const m = new RdlDenoiser({ ...DENOISER_SMALL, features: 8, blocks: 1, reduction: 2, tailFeatures: 16 }, { seed: 7 });
  const mpe = u([1, 3, 16, 16], 1);
  const raw = u([1, 3, 16, 16], 2);
  const target = tidy(() => mpe.add(raw).mul(0.5));
  const losses = fit(m, 100, () => mse(m.forward(mpe, raw), target));
  const first = losses[0] as number;
  const last = Math.min(...losses.slice(-5));
  assert.ok(last * 10 < first, `MSE ${first} → ${last}`);
  for (const t of [mpe, raw, target]) t.dispose();
  m.dispose();
});

test('a small DFCAN overfits one batch: mse_ssim falls at least 5× in 60 Adam steps', () => {
  const m = new DFCAN(
    { ...DFCAN_SMALL, features: 8, groups: 1, blocks: 1, reduction: 2, spectrumSize: 24 },
    { seed: 7 },
  );
  const x = u([1, 9, 24, 24], 11);
  // A target the network can represent: a smooth function of the input at twice the sampling.
  const y = tidy(() => F.interpolate(x.mean(1, true), [48, 48], 'bilinear'));
  const losses = fit(m, 60, () => mseSsim(m.forward(x), y));
  const first = losses[0] as number;
  const last = Math.min(...losses.slice(-5));
  assert.ok(last * 5 < first, `mse_ssim ${first} → ${last}`);
  for (const t of [x, y]) t.dispose();
  m.dispose();
});

test('forward and training steps leave no tensors behind (NSM cache and parameters aside)', () => {
  const nsm = { cutoff: 4, slope: 2, pixelSizeUm: 0.0626, features: 4 };
  const m = new RdlDenoiser({ ...DENOISER_SMALL, nsm }, { seed: 1 });
  const a = u([1, 3, 16, 16], 1);
  const opt = new Adam(m.parameters());
  const step = () =>
    tidy(() => {
      opt.zeroGrad();
      mse(m.forward(a, a), a).backward();
      opt.step();
    });
  step(); // creates the gradients and the NSM's frequency grid once
  const before = memory().liveTensors;
  for (let i = 0; i < 3; i++) step();
  noGrad(() =>
    tidy(() => {
      m.forward(a, a);
    }),
  );
  assert.equal(memory().liveTensors, before);
  opt.dispose();
  m.dispose();
  a.dispose();
});
