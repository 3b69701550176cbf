// FFTs: round trips and known values (numpy conventions: unnormalized forward transform).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertClose, DEVICE, values } from '../helpers.js';
import { arange, cos, fft, randn, type Tensor, tensor, tidy, zeros } from './fft-helpers.js';

const dev = { device: DEVICE };
const maxErr = (a: Tensor, b: Tensor) => a.sub(b).abs().max().item();

describe('FFT', () => {
  it('round-trips fft2/ifft2, rfft2/irfft2 (odd sizes), fftn/ifftn', () =>
    tidy(() => {
      const x = randn([3, 7, 9], { seed: 1, ...dev, dtype: 'float64' });
      assert.ok(maxErr(fft.ifft2(fft.fft2(x)).real(), x) < 1e-12);
      assert.ok(maxErr(fft.irfft2(fft.rfft2(x), { s: [7, 9] }), x) < 1e-12);
      assert.ok(maxErr(fft.ifftn(fft.fftn(x)).real(), x) < 1e-12);
      assert.ok(maxErr(fft.irfftn(fft.rfftn(x), { s: [3, 7, 9] }), x) < 1e-12);
      assert.deepEqual(fft.rfft2(x).shape, [3, 7, 5]);
    }));
  it('transforms a delta to ones and a cosine to two peaks of height N/2', () =>
    tidy(() => {
      const delta = zeros([4, 4], dev).add(tensor([1], [1, 1], dev).pad([0, 3, 0, 3]));
      assertClose(values(fft.fft2(delta).real()), new Array(16).fill(1), 1e-6);
      const n = 16;
      const k = 3; // cycles per image along x
      const row = cos(arange(0, n, 1, { ...dev, dtype: 'float64' }).mul((2 * Math.PI * k) / n));
      const spec = fft.fft2(row.reshape(1, n)).abs();
      const mag = values(spec);
      assertClose([mag[k]!, mag[n - k]!], [n / 2, n / 2], 1e-9);
      assert.ok(mag.every((v, i) => i === k || i === n - k || v < 1e-9));
    }));
  it('applies norm ortho (unitary: energy preserved)', () =>
    tidy(() => {
      const x = randn([8, 8], { seed: 2, ...dev, dtype: 'float64' });
      const energy = (t: Tensor) => t.abs().square().sum().item();
      assertClose([energy(fft.fft2(x, { norm: 'ortho' }))], [energy(x)], 1e-9, 1e-12);
    }));
  it('shifts the zero frequency to the centre and back', () =>
    tidy(() => {
      assert.deepEqual(values(fft.fftshift(arange(0, 5, 1, dev))), [3, 4, 0, 1, 2]);
      assert.deepEqual(values(fft.ifftshift(arange(0, 5, 1, dev))), [2, 3, 4, 0, 1]);
      assert.deepEqual(values(fft.fftshift(arange(0, 4, 1, dev))), [2, 3, 0, 1]);
      const m = arange(0, 6, 1, dev).reshape(2, 3);
      assert.deepEqual(values(fft.fftshift(m, [1])), [2, 0, 1, 5, 3, 4]);
      assert.deepEqual(values(fft.ifftshift(fft.fftshift(m))), values(m));
    }));
});
