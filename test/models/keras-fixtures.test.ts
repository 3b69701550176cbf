// Numerical equivalence with an independent implementation: tools/make_model_fixtures.py builds
// each network at a small size in the reference's Keras layout (channels last, HWIO/DHWIO
// kernels, TensorFlow's depth_to_space order), saves Keras weight files and input/output pairs.
// Here the weights go through the .h5 importer and the outputs must agree to 1e-4.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSafetensors, noGrad, type Tensor, tidy } from '../../src/engine/index.js';
import { ShapeError } from '../../src/errors.js';
import type { KerasImportable } from '../../src/models/common.js';
import { RdlDenoiser } from '../../src/models/denoiser.js';
import { DFCAN } from '../../src/models/dfcan.js';
import { loadKerasWeights } from '../../src/models/keras.js';
import { RCAN3D } from '../../src/models/rcan3d.js';
import { DEVICE, fixture } from '../helpers.js';

/** Keras (B, H, W, C) → ours (B, C, H, W); (B, Y, X, Z, C) → (B, C, Z, Y, X). */
const fromKeras = (t: Tensor) => (t.rank === 4 ? t.permute(0, 3, 1, 2) : t.permute(0, 4, 3, 1, 2)).contiguous();

async function check(name: string, model: KerasImportable & { forward(...x: Tensor[]): Tensor }) {
  await loadKerasWeights(model, fixture(`models/${name}.h5`));
  const io = loadSafetensors(fixture(`models/${name}.io.safetensors`), { device: DEVICE });
  try {
    const worst = noGrad(() =>
      tidy(() => {
        const inputs = Object.keys(io.tensors)
          .filter((k) => k.startsWith('input'))
          .sort()
          .map((k) => fromKeras(io.tensors[k] as Tensor));
        const out = model.forward(...inputs);
        const expected = fromKeras(io.tensors.output as Tensor);
        assert.deepEqual(out.shape, expected.shape);
        return out.sub(expected).abs().max().item();
      }),
    );
    assert.ok(worst <= 1e-4, `${name}: max |difference| ${worst} > 1e-4`);
  } finally {
    for (const t of Object.values(io.tensors)) t.dispose();
    model.dispose();
  }
}

const base = { reduction: 4, blocks: 2 };

test('DFCAN matches the independent implementation (spectra resized 32 → 24, ×2 depth-to-space)', async () => {
  await check('dfcan', new DFCAN({ ...base, features: 16, groups: 2, spectrumSize: 24 }));
});

test('rDL denoiser matches (Keras names numbered from conv2d_83, shuffled layer_names)', async () => {
  await check('denoiser', new RdlDenoiser({ ...base, features: 16, groups: [1, 2, 1], tailFeatures: 32 }));
});

test('rDL denoiser with NSM matches (trained cutoff and slope come from the file)', async () => {
  const nsm = { cutoff: 4.95, slope: 100, pixelSizeUm: 0.0626, features: 8 };
  const m = new RdlDenoiser({ ...base, features: 16, groups: [1, 1, 1], tailFeatures: 32, nsm });
  await loadKerasWeights(m, fixture('models/denoiser_nsm.h5'));
  assert.ok(Math.abs((m.nsm as { cutoff: Tensor }).cutoff.item() - 3.7) < 1e-6);
  await check('denoiser_nsm', m);
});

test('RCAN3D matches (Keras (Y, X, Z) volumes and kernels)', async () => {
  await check('rcan3d', new RCAN3D({ ...base, channels: 2, features: 8, groups: 2, tailFeatures: 16 }));
});

test('RCAN3D with NSM matches', async () => {
  const nsm = { cutoff: 4.1, slope: 100, pixelSizeUm: 0.0926 };
  await check('rcan3d_nsm', new RCAN3D({ ...base, channels: 2, features: 8, groups: 1, tailFeatures: 16, nsm }));
});

test('a weights file of another configuration is refused, naming what was expected and found', async () => {
  const m = new DFCAN({ ...base, features: 16, groups: 1, spectrumSize: 24 });
  const before = m.head.weight.toFloat32Array();
  await assert.rejects(loadKerasWeights(m, fixture('models/dfcan.h5')), (err: Error) => {
    assert.ok(err instanceof ShapeError);
    assert.match(err.message, /expected 13 conv2d layers and 0 noise suppression modules, found 23 and 0/);
    return true;
  });
  assert.deepEqual(m.head.weight.toFloat32Array(), before, 'nothing is loaded from a file that does not fit');
  m.dispose();
  const wide = new DFCAN({ ...base, features: 32, groups: 2, spectrumSize: 24 });
  await assert.rejects(
    loadKerasWeights(wide, fixture('models/dfcan.h5')),
    /conv2d → head: expected kernel \[3,3,9,32\]/,
  );
  wide.dispose();
  const rcan = new RCAN3D({ ...base, channels: 2, features: 8, groups: 2, tailFeatures: 16 });
  await assert.rejects(loadKerasWeights(rcan, fixture('models/denoiser.h5')), /expected conv3d layers/);
  rcan.dispose();
});
