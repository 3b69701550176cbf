// The module system: parameter paths, counting, state dicts, modes, model folders, NSM, apodization.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { arange, full, noGrad, ones, randn, type Tensor, tidy } from '../../src/engine/index.js';
import { ParameterError, ShapeError } from '../../src/errors.js';
import { DENOISER_SMALL, RdlDenoiser } from '../../src/models/denoiser.js';
import { DFCAN, DFCAN_SMALL } from '../../src/models/dfcan.js';
import { loadModelFolder, saveModelFolder } from '../../src/models/folder.js';
import { apodize } from '../../src/nn/attention.js';
import { NoiseSuppression } from '../../src/nn/nsm.js';

test('parameters have dotted paths in registration order, and counts add up', () => {
  const m = new DFCAN(DFCAN_SMALL, { seed: 1 });
  const names = m.namedParameters().map(([n]) => n);
  assert.equal(names[0], 'head.weight');
  assert.ok(names.includes('groups.1.blocks.0.attention.spectrumConv.weight'));
  assert.ok(names.includes('groups.0.blocks.1.attention.up.bias'));
  assert.equal(names.at(-1), 'out.bias');
  assert.equal(new Set(names).size, names.length);
  const total = m.parameters().reduce((n, p) => n + p.size, 0);
  assert.equal(m.parameterCount(), total);
  // head 9→16 3×3 conv: 9·16·9 + 16.
  assert.equal(m.head.weight.size + m.head.bias.size, 1312);
  m.dispose();
});

test('the same seed gives the same weights; another seed other weights', () => {
  const a = new DFCAN(DFCAN_SMALL, { seed: 5 });
  const b = new DFCAN(DFCAN_SMALL, { seed: 5 });
  const c = new DFCAN(DFCAN_SMALL, { seed: 6 });
  assert.deepEqual(a.out.weight.toFloat32Array(), b.out.weight.toFloat32Array());
  assert.notDeepEqual(a.out.weight.toFloat32Array(), c.out.weight.toFloat32Array());
  for (const m of [a, b, c]) m.dispose();
});

test('loadStateDict names missing, unexpected and mis-shaped entries and loads nothing then', () => {
  const m = new DFCAN(DFCAN_SMALL, { seed: 1 });
  const before = m.head.bias.toFloat32Array();
  tidy(() => {
    const sd = { ...m.stateDict() };
    delete sd['out.bias'];
    sd['extra.weight'] = ones([1]);
    sd['head.bias'] = ones([16]);
    assert.throws(
      () => m.loadStateDict(sd),
      (e: Error) => e instanceof ShapeError && /missing out\.bias; unexpected extra\.weight/.test(e.message),
    );
    const sd2 = { ...m.stateDict(), 'head.bias': ones([17]) };
    assert.throws(() => m.loadStateDict(sd2), /head\.bias expected \[16\], found \[17\]/);
  });
  assert.deepEqual(m.head.bias.toFloat32Array(), before);
  m.dispose();
});

test('train() / eval() set the mode recursively', () => {
  const m = new RdlDenoiser(DENOISER_SMALL, { seed: 1 });
  assert.equal(m.training, true);
  m.eval();
  assert.equal(m.patternBranch.groups[0]?.blocks[1]?.attention.training, false);
  m.train();
  assert.equal(m.rawBranch.head.training, true);
  m.dispose();
});

test('a model folder (config.json + weights.safetensors) round-trips and describes itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rdl-model-'));
  const nsm = { cutoff: 4.5, slope: 50, pixelSizeUm: 0.07, features: 4 };
  const m = new RdlDenoiser({ ...DENOISER_SMALL, nsm }, { seed: 3 });
  try {
    saveModelFolder(m, dir);
    const meta = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.equal(meta.architecture, 'rdl-denoiser');
    assert.deepEqual(meta.config.nsm, nsm);
    assert.equal(meta.parameters, m.parameterCount());
    const back = loadModelFolder(dir);
    assert.ok(back instanceof RdlDenoiser);
    noGrad(() =>
      tidy(() => {
        const x = randn([1, 3, 24, 24], { seed: 1 });
        const y = randn([1, 3, 24, 24], { seed: 2 });
        assert.deepEqual(back.forward(x, y).toFloat32Array(), m.forward(x, y).toFloat32Array());
      }),
    );
    back.dispose();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...meta, config: { ...meta.config, features: 8 } }));
    assert.throws(() => loadModelFolder(dir), /does not fit RdlDenoiser/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...meta, config: { ...meta.config, featurs: 8 } }));
    assert.throws(
      () => loadModelFolder(dir),
      (e: Error) => e instanceof ParameterError && /featurs/.test(e.message),
    );
  } finally {
    m.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('NSM: mask = sigmoid((cutoff − |k|)·slope) in cycles/µm; passes fringes below it, removes fringes above it', () => {
  const pixel = 0.1; // µm: 64 px span 6.4 µm, so fringe index f is f / 6.4 cycles/µm
  const nsm = new NoiseSuppression({ cutoff: 2, slope: 20, pixelSizeUm: pixel });
  noGrad(() =>
    tidy(() => {
      const mask = nsm.mask(64, 64, 'cpu');
      // Bin (y 0, x 8) is at 8 / 6.4 = 1.25 cycles/µm; (0, 32) at 5 cycles/µm.
      const m = mask.toFloat32Array();
      const at = (y: number, x: number) => m[y * 33 + x] as number;
      assert.ok(Math.abs(at(0, 8) - 1 / (1 + Math.exp(-20 * 0.75))) < 1e-6);
      assert.ok(at(0, 32) < 1e-20);
      const x = arange(0, 64).mul((2 * Math.PI) / 64);
      const low = x.mul(8).sin().reshape(1, 1, 1, 64).expand(1, 1, 64, 64);
      const high = x.mul(25).sin().reshape(1, 1, 1, 64).expand(1, 1, 64, 64);
      assert.ok(nsm.forward(low).sub(low).abs().max().item() < 1e-5);
      assert.ok(nsm.forward(high).abs().max().item() < 1e-5);
    }),
  );
  nsm.dispose();
});

test('NSM: gradients reach cutoff and slope', () => {
  const nsm = new NoiseSuppression({ cutoff: 3, slope: 2, pixelSizeUm: 0.1 });
  tidy(() => {
    nsm
      .forward(randn([2, 3, 32, 32], { seed: 4 }))
      .square()
      .mean()
      .backward();
    for (const p of [nsm.cutoff, nsm.slope]) {
      const g = (p.grad as Tensor).item();
      assert.ok(Number.isFinite(g) && g !== 0, `gradient ${g}`);
    }
  });
  nsm.dispose();
});

test('apodization leaves a constant image alone and equalizes opposite edges', () => {
  tidy(() => {
    const c = full([1, 2, 30, 30], 3);
    assert.ok(apodize(c, 10).sub(3).abs().max().item() < 1e-6);
    const ramp = arange(0, 30).reshape(1, 1, 30, 1).expand(1, 1, 30, 30).contiguous();
    const a = apodize(ramp, 10);
    // Row 0 and row 29 are pulled to their mean (14.5) with weight 1 − sin(π/40) ≈ 0.92.
    const w = 1 - Math.sin(Math.PI / 40);
    const row0 = a.select(2, 0).mean().item();
    assert.ok(Math.abs(row0 - (0 + w * 14.5)) < 1e-4, `row 0: ${row0}`);
    assert.ok(Math.abs(a.select(2, 15).mean().item() - 15) < 1e-6, 'the middle is untouched');
    assert.throws(() => apodize(full([1, 1, 15, 40], 1), 10), /at least 20 pixels/);
  });
});
