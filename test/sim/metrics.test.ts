import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fft, memory, meshgrid, randn, type Tensor, tensor, tidy } from '../../src/engine/index.js';
import { ShapeError } from '../../src/errors.js';
import { decorrelationResolution, fidelity, mcnr, otsuThreshold } from '../../src/metrics/index.js';

test('PSNR, NRMSE and MSE on known differences (no normalization)', () => {
  const a = tensor(
    Float64Array.from({ length: 32 * 32 }, (_, i) => (i % 7) / 7),
    [32, 32],
    { dtype: 'float64' },
  );
  const b = a.add(0.1);
  const f = fidelity(a, b, { normalize: 'none' });
  assert.ok(Math.abs(f.mse - 0.01) < 1e-12);
  assert.ok(Math.abs(f.psnr - 20) < 1e-9, `psnr ${f.psnr}`);
  const norm = Math.sqrt(a.square().sum().item());
  assert.ok(Math.abs(f.nrmse - (0.1 * 32) / norm) < 1e-9);
  // Min–max normalization removes offset and gain: a·3 + 5 is a perfect match.
  const g = fidelity(a, a.mul(3).add(5));
  assert.ok(g.mse < 1e-12 && Math.abs(g.ssim - 1) < 1e-9);
  for (const t of [a, b]) t.dispose();
});

/** SSIM by direct loops (TensorFlow's definition: 11×11 Gaussian σ 1.5, valid windows, L = 1). */
function naiveSsim(x: Float64Array, y: Float64Array, h: number, w: number): number {
  const n = 11;
  const g: number[] = [];
  for (let i = 0; i < n; i++) g.push(Math.exp(-((i - 5) ** 2) / (2 * 1.5 ** 2)));
  const s = g.reduce((p, q) => p + q, 0);
  const k = g.map((v) => v / s);
  let total = 0;
  let count = 0;
  for (let r = 0; r + n <= h; r++) {
    for (let c = 0; c + n <= w; c++) {
      let mx = 0,
        my = 0,
        xx = 0,
        yy = 0,
        xy = 0; // prettier-ignore
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const wt = k[i]! * k[j]!;
          const a = x[(r + i) * w + c + j]!;
          const b = y[(r + i) * w + c + j]!;
          mx += wt * a;
          my += wt * b;
          xx += wt * a * a;
          yy += wt * b * b;
          xy += wt * a * b;
        }
      }
      const c1 = 0.01 ** 2;
      const c2 = 0.03 ** 2;
      const v =
        ((2 * mx * my + c1) * (2 * (xy - mx * my) + c2)) /
        ((mx * mx + my * my + c1) * (xx - mx * mx + yy - my * my + c2));
      total += v;
      count++;
    }
  }
  return total / count;
}

test('SSIM equals a direct implementation of the TensorFlow definition', () => {
  const h = 24;
  const w = 30;
  const a = randn([h, w], { seed: 3, dtype: 'float64' }).sigmoid();
  const b = a.add(randn([h, w], { seed: 4, dtype: 'float64' }).mul(0.1)).clamp(0, 1);
  const f = fidelity(a, b, { normalize: 'none' });
  const ref = naiveSsim(a.toArray() as Float64Array, b.toArray() as Float64Array, h, w);
  assert.ok(Math.abs(f.ssim - ref) < 1e-9, `${f.ssim} vs ${ref}`);
  assert.ok(f.ssim < 0.95 && f.ssim > 0.3);
  for (const t of [a, b]) t.dispose();
});

test('fidelity rejects mismatched shapes and tiny images', () => {
  const a = randn([32, 32], { seed: 1 });
  const b = randn([32, 30], { seed: 1 });
  const c = randn([8, 8], { seed: 1 });
  assert.throws(() => fidelity(a, b), ShapeError);
  assert.throws(() => fidelity(c, c), /at least 11×11/);
  for (const t of [a, b, c]) t.dispose();
});

/** Unit-variance noise band-limited to normalized radius cut (1 = Nyquist), plus white noise. */
function bandLimited(n: number, cut: number, noise: number, seed: number): Tensor {
  return tidy(() => {
    const f = Float64Array.from({ length: n }, (_, i) => (i < n / 2 ? i : i - n) / (n / 2));
    const [yy, xx] = meshgrid(tensor(f, [n], { dtype: 'float64' }), tensor(f, [n], { dtype: 'float64' })) as [
      Tensor,
      Tensor,
    ];
    const mask = yy.square().add(xx.square()).sqrt().lt(cut).to('float64');
    const lp = fft.ifft2(fft.fft2(randn([n, n], { seed, dtype: 'float64' })).mul(mask)).real();
    return lp.div(lp.std()).add(randn([n, n], { seed: seed + 1, dtype: 'float64' }).mul(noise));
  });
}

test('decorrelation analysis finds the band limit of band-limited images', () => {
  for (const cut of [0.35, 0.65]) {
    const img = bandLimited(128, cut, 0.1, 7);
    const r = decorrelationResolution(img, { pixelSizeUm: 0.05 });
    assert.ok(Math.abs(r.kc - cut) < 0.05, `cut ${cut}: kc ${r.kc}`);
    assert.equal(r.unit, 'µm');
    assert.ok(Math.abs(r.resolution - (2 * 0.05) / r.kc) < 1e-12);
    assert.ok(Math.abs(r.cutoffPerUm! - r.kc / 0.1) < 1e-12);
    img.dispose();
  }
  const before = memory().liveTensors;
  const img = bandLimited(64, 0.5, 0.1, 9);
  decorrelationResolution(img);
  img.dispose();
  assert.equal(memory().liveTensors, before);
});

test('MCNR: strongly modulated frames grade high, unmodulated ones inadequate', () => {
  const n = 64;
  const frames = (m: number) =>
    tidy(() => {
      const out: number[] = [];
      for (let d = 0; d < 3; d++) {
        for (let j = 0; j < 3; j++) {
          for (let y = 0; y < n; y++) {
            for (let x = 0; x < n; x++) {
              const bright = x > n / 4 && x < (3 * n) / 4 ? 400 : 4;
              out.push(100 + bright * (1 + m * Math.cos(0.9 * (d === 1 ? y : x) + d + (2 * Math.PI * j) / 3)));
            }
          }
        }
      }
      const mean = tensor(Float64Array.from(out), [3, 3, n, n], { dtype: 'float64' });
      // Poisson noise around the expected counts above the offset.
      return mean
        .sub(100)
        .add(randn([3, 3, n, n], { seed: 5, dtype: 'float64' }).mul(mean.sub(100).sqrt()))
        .add(100);
    });
  const hi = frames(0.8);
  const lo = frames(0);
  const a = mcnr(hi);
  const b = mcnr(lo);
  assert.ok(a.feature > 12, `modulated: ${a.feature}`);
  assert.equal(a.grade, 'excellent');
  assert.ok(b.feature < 4, `unmodulated: ${b.feature}`);
  assert.equal(b.grade, 'inadequate');
  assert.equal(a.perOrientation.length, 3);
  for (const t of [hi, lo, a.map, b.map]) t.dispose();
  assert.throws(() => mcnr(randn([9, 16, 16], { seed: 1 })), ShapeError);
});

test('Otsu threshold separates two populations', () => {
  const v = [...Array(100).fill(1), ...Array(50).fill(10)];
  const t = otsuThreshold(v);
  assert.ok(t > 1 && t < 10, `threshold ${t}`);
});
