// Losses against values computed by tools/make_model_fixtures.py with scipy, as TensorFlow does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSafetensors, randn, type Tensor, tidy } from '../../src/engine/index.js';
import { mse, mseGar, mseSsim, ssim } from '../../src/nn/losses.js';
import { DEVICE, fixture } from '../helpers.js';

const file = () => loadSafetensors(fixture('models/losses.safetensors'), { device: DEVICE });
/** Keras (B, H, W, C) → (B, C, H, W); (B, Y, X, Z, C) → (B, C, Z, Y, X). */
const ours = (t: Tensor) => (t.rank === 4 ? t.permute(0, 3, 1, 2) : t.permute(0, 4, 3, 1, 2));

test('mse_ssim (2-D and 3-D) and mse_gar equal the TensorFlow-semantics reference values', () => {
  const { tensors: t, metadata } = file();
  tidy(() => {
    const v2 = mseSsim(ours(t.pred2d as Tensor), ours(t.gt2d as Tensor)).item();
    assert.ok(Math.abs(v2 - Number(metadata.mse_ssim)) < 1e-5, `mse_ssim ${v2} vs ${metadata.mse_ssim}`);
    const v3 = mseSsim(ours(t.pred3d as Tensor), ours(t.gt3d as Tensor)).item();
    assert.ok(Math.abs(v3 - Number(metadata.mse_ssim_3d)) < 1e-5, `mse_ssim_3d ${v3} vs ${metadata.mse_ssim_3d}`);
    const g = mseGar(ours(t.pred3d as Tensor), ours(t.gt3d as Tensor), ours(t.gar3d as Tensor)).item();
    assert.ok(Math.abs(g - Number(metadata.mse_gar)) < 1e-5, `mse_gar ${g} vs ${metadata.mse_gar}`);
  });
  for (const x of Object.values(t)) x.dispose();
});

test('SSIM is 1 for identical images, below 1 otherwise; mse_ssim is 0 for identical inputs', () => {
  tidy(() => {
    const a = randn([2, 1, 20, 20], { seed: 1, device: DEVICE });
    assert.ok(Math.abs(ssim(a, a, 4).item() - 1) < 1e-6);
    const b = a.add(randn([2, 1, 20, 20], { seed: 2, device: DEVICE }).mul(0.3));
    assert.ok(ssim(a, b, 4).item() < 0.99);
    assert.ok(Math.abs(mseSsim(a, a).item()) < 1e-6);
    assert.ok(Math.abs(mse(a, b).item() - b.sub(a).square().mean().item()) < 1e-7);
  });
});

test('SSIM refuses planes smaller than its 11 × 11 window', () => {
  tidy(() => {
    const a = randn([1, 1, 10, 30], { seed: 1 });
    assert.throws(() => ssim(a, a), /at least 11 × 11/);
  });
});
