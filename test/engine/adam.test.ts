// Adam against PyTorch's torch.optim.Adam/AdamW (values computed once with PyTorch 1.13 in
// float64: p0 = [1, −2, 0.5], loss = Σ p²/2 + 0.1 Σ p³, three steps, lr 0.1), and its state
// round trip through safetensors.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  Adam,
  type AdamOptions,
  loadSafetensors,
  saveSafetensors,
  type Tensor,
  tensor,
  tidy,
} from '../../src/engine/index.js';
import { assertClose, DEVICE, values } from '../helpers.js';

function train(p: Tensor, opt: Adam, steps: number): void {
  for (let i = 0; i < steps; i++) {
    tidy(() => {
      opt.zeroGrad();
      p.square().mul(0.5).sum().add(p.pow(3).sum().mul(0.1)).backward();
      opt.step();
    });
  }
}

function run(o: AdamOptions, steps = 3): number[] {
  const p = tensor(new Float64Array([1, -2, 0.5]), [3], { device: DEVICE }).requiresGrad_();
  const opt = new Adam([p], { lr: 0.1, ...o });
  train(p, opt, steps);
  const out = values(p);
  opt.dispose();
  p.dispose();
  return out;
}

describe('Adam', () => {
  it('matches torch.optim.Adam', () => {
    assertClose(run({}), [0.7020602041805988, -1.6998418710196215, 0.20565966569264316], 1e-12);
  });
  it('matches torch.optim.Adam with weight decay (L2 in the gradient)', () => {
    assertClose(run({ weightDecay: 0.05 }), [0.7020414925493852, -1.699902777424621, 0.20562524922746508], 1e-12);
  });
  it('matches torch.optim.AdamW (decoupled weight decay)', () => {
    assertClose(
      run({ weightDecay: 0.05, decoupled: true }),
      [0.6887794332667523, -1.6714811190131695, 0.19992429936163564],
      1e-12,
    );
  });
  it('matches torch.optim.Adam with a large eps', () => {
    assertClose(run({ eps: 0.5 }), [0.7869200363050168, -1.8148413365549212, 0.34501267897150506], 1e-12);
  });
  it('puts eps where Keras 2 does with epsStyle keras', () => {
    // Independent re-statement of Keras 2's update: p −= lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + eps)
    const p = [1, -2, 0.5];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    const [lr, b1, b2, eps] = [0.1, 0.9, 0.999, 0.5];
    for (let t = 1; t <= 3; t++) {
      for (let i = 0; i < 3; i++) {
        const g = p[i]! + 0.3 * p[i]! ** 2;
        m[i] = b1 * m[i]! + (1 - b1) * g;
        v[i] = b2 * v[i]! + (1 - b2) * g * g;
        p[i] = p[i]! - ((lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t)) * (m[i]! / (Math.sqrt(v[i]!) + eps));
      }
    }
    assertClose(run({ eps, epsStyle: 'keras' }), p, 1e-12);
  });
  it('changes the learning rate between steps', () => {
    const a = run({ lr: 0.1 }, 1);
    const p = tensor(new Float64Array([1, -2, 0.5]), [3]).requiresGrad_();
    const opt = new Adam([p], { lr: 0.5 });
    opt.lr = 0.1;
    train(p, opt, 1);
    assertClose(values(p), a, 1e-15);
    opt.dispose();
    p.dispose();
  });
  it('continues identically after its state is saved and loaded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdl-adam-'));
    try {
      const p = tensor(new Float64Array([1, -2, 0.5]), [3]).requiresGrad_();
      const opt = new Adam([p], { lr: 0.1 });
      train(p, opt, 2);
      const st = opt.state();
      saveSafetensors(
        join(dir, 'opt.safetensors'),
        { ...st.tensors, param: p },
        { step: String(st.step), lr: String(st.lr) },
      );

      const file = loadSafetensors(join(dir, 'opt.safetensors'));
      const q = file.tensors.param!.requiresGrad_();
      const opt2 = new Adam([q], { lr: 0.9 });
      opt2.loadState({ step: Number(file.metadata.step), lr: Number(file.metadata.lr), tensors: file.tensors });
      assert.equal(opt2.stepCount, 2);
      train(p, opt, 1);
      train(q, opt2, 1);
      assertClose(values(q), values(p), 0);
      assertClose(values(q), [0.7020602041805988, -1.6998418710196215, 0.20565966569264316], 1e-12);
      for (const t of Object.values(file.tensors)) t.dispose();
      for (const o of [opt, opt2]) o.dispose();
      p.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('rejects bad hyper-parameters and mismatched state', () => {
    const p = tensor(new Float32Array([1, 2]), [2]);
    assert.throws(() => new Adam([p], { lr: -1 }), /Adam lr: expected a finite number ≥ 0, got -1/);
    assert.throws(() => new Adam([p], { beta1: 1 }), /Adam beta1: expected a number in \[0, 1\), got 1/);
    const opt = new Adam([p]);
    const wrong = tensor(new Float32Array(3), [3]);
    assert.throws(
      () => opt.loadState({ step: 1, lr: 0.1, tensors: { 'exp_avg.0': wrong, 'exp_avg_sq.0': wrong } }),
      /Adam state exp_avg.0: expected shape \[2\], got "\[3\]"/,
    );
    for (const t of [p, wrong]) t.dispose();
    opt.dispose();
  });
});
