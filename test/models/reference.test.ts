// The reference configurations: trainable parameter counts equal to the Keras originals', and a
// Keras-layout file of each reference-size network loads back into it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadKerasWeights, readKerasWeights, saveKerasWeights } from '../../src/models/keras.js';
import { createModel, REFERENCE_MODELS } from '../../src/models/registry.js';

const EXPECTED: Record<string, number> = {
  dfcan: 1_935_361,
  'rdl-denoiser': 4_743_619,
  'rdl-denoiser-nsm': 4_780_549,
  'rcan3d-tis': 3_805_632,
  'rcan3d-sis': 3_779_709,
  'rcan3d-nsm-tis': 3_812_610,
  'rcan3d-nsm-sis': 3_781_503,
};

test('trainable parameter counts equal the Keras originals', () => {
  assert.deepEqual(
    REFERENCE_MODELS.map((r) => r.name),
    Object.keys(EXPECTED),
  );
  for (const r of REFERENCE_MODELS) {
    const m = createModel(r.architecture, r.config, { seed: 1 });
    assert.equal(m.parameterCount(), EXPECTED[r.name], r.name);
    m.dispose();
  }
});

test('reference-size Keras layouts: names and shapes as the reference creates them, and they load back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rdl-keras-'));
  try {
    for (const name of ['dfcan', 'rdl-denoiser-nsm', 'rcan3d-nsm-sis']) {
      const r = REFERENCE_MODELS.find((x) => x.name === name);
      assert.ok(r);
      const a = createModel(r.architecture, r.config, { seed: 1 });
      const b = createModel(r.architecture, r.config, { seed: 2 });
      const path = join(dir, `${name}.h5`);
      await saveKerasWeights(a, path);
      const layers = await readKerasWeights(path);
      const count = layers.reduce((n, l) => n + l.weights.reduce((k, w) => k + w.data.length, 0), 0);
      // + 1: the NSM's pixel size (dxy), a non-trainable weight in the Keras layer.
      assert.equal(count, r.kerasParameters + (name.includes('nsm') ? 1 : 0));
      if (name === 'dfcan') {
        // conv2d: 9 → 64; conv2d_1 … the first FCAB; conv2d_81 the 64 → 256 before depth-to-space.
        assert.deepEqual(layers[0]?.weights[0]?.shape, [3, 3, 9, 64]);
        assert.equal(layers[81]?.name, 'conv2d_81');
        assert.deepEqual(layers[81]?.weights[0]?.shape, [3, 3, 64, 256]);
        assert.deepEqual(layers[82]?.weights[0]?.shape, [3, 3, 64, 1]);
      }
      if (name === 'rcan3d-nsm-sis') {
        assert.deepEqual(
          layers.slice(0, 3).map((l) => l.name),
          ['conv3d', 'noise_suppression_module', 'conv3d_1'],
        );
        assert.deepEqual(layers[0]?.weights[0]?.shape, [3, 3, 3, 1, 64]);
      }
      await loadKerasWeights(b, path);
      const sa = a.stateDict();
      for (const [n, p] of Object.entries(b.stateDict())) {
        assert.deepEqual(p.toFloat32Array(), sa[n]?.toFloat32Array(), `${name}: ${n}`);
      }
      a.dispose();
      b.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
