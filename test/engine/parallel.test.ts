// The engine's own CPU parallelism where libtorch has none: batched FFTs split over the intra-op
// threads (native/ops_nn.cc SplitOverBatch) and matrix products split by rows (native/ops_math.cc
// SplitRowsMatmul). With two threads the results must equal the single-thread ones, shapes and
// dims included: transforms exactly (each is computed alike either way), products to rounding
// (BLAS blocks a share of the rows differently from all of them).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { complex, fft, randn, type Tensor, tidy, withNumThreads } from '../../src/engine/index.js';
import { DEVICE } from '../helpers.js';

const dev = { device: DEVICE };
/** fn's result with one thread and with two (the split paths need more than one). */
const bothWays = (fn: () => Tensor): [Tensor, Tensor] => [withNumThreads(1, fn), withNumThreads(2, fn)];
/** Equal shapes and dtypes, and values within relTol of the largest magnitude (0: exactly). */
const same = ([one, two]: [Tensor, Tensor], relTol = 0) => {
  assert.deepEqual(two.shape, one.shape);
  assert.equal(two.dtype, one.dtype);
  assert.ok(two.sub(one).abs().max().item() <= relTol * one.abs().max().item());
};

describe('parallel FFTs (batch split over the threads)', () => {
  it('give the single-thread transforms exactly, flattening several batch dims', () =>
    tidy(() => {
      const re = randn([3, 2, 64, 72], { seed: 1, ...dev });
      const z = complex(re, randn([3, 2, 64, 72], { seed: 2, ...dev }));
      same(bothWays(() => fft.fft2(z)));
      same(bothWays(() => fft.ifft2(z, { norm: 'ortho' })));
      same(bothWays(() => fft.rfft2(re)));
      same(bothWays(() => fft.irfft2(fft.rfft2(re), { s: [64, 72] })));
      same(bothWays(() => fft.fft2(z, { s: [80, 70] })));
      // n-D with dims given as positive indices (counted from the end once the batch is flattened).
      same(bothWays(() => fft.fftn(z, { dims: [2, 3] })));
      same(bothWays(() => fft.rfftn(re, { s: [64, 72] })));
      // A non-contiguous batch of one dim is split too; with several it is transformed whole.
      same(bothWays(() => fft.fft2(z.select(1, 1))));
      same(bothWays(() => fft.fft2(z.transpose(0, 1))));
      // The batch transformed as well: not split, same answer.
      same(bothWays(() => fft.fftn(z.narrow(0, 0, 1).narrow(1, 0, 1))));
    }));
  it("keeps libtorch's errors for bad dims", () =>
    tidy(() => {
      const z = randn([3, 64, 64], dev);
      assert.throws(() => withNumThreads(2, () => fft.fftn(z, { dims: [5] })), /out of range|dim/i);
    }));
  it('leave autograd alone: the gradient of Σ re fft2(x) is H·W at the origin, 0 elsewhere', () =>
    tidy(() => {
      const x = randn([4, 64, 64], { seed: 3, ...dev, dtype: 'float64' }).requiresGrad_();
      withNumThreads(2, () => fft.fft2(x).real().sum()).backward();
      const g = (x.grad as Tensor).reshape([4, 64 * 64]);
      assert.equal(
        g
          .select(1, 0)
          .sub(64 * 64)
          .abs()
          .max()
          .item(),
        0,
      );
      assert.ok(
        g
          .narrow(1, 1, 64 * 64 - 1)
          .abs()
          .max()
          .item() < 1e-9,
      );
    }));
});

describe('parallel matrix products (rows split over the threads)', () => {
  it('give the single-thread products to rounding: batched, broadcast and 2D', () =>
    tidy(() => {
      const a = complex(randn([3, 301, 256], { seed: 4, ...dev }), randn([3, 301, 256], { seed: 5, ...dev }));
      const b = complex(randn([3, 256, 41], { seed: 6, ...dev }), randn([3, 256, 41], { seed: 7, ...dev }));
      same(
        bothWays(() => a.matmul(b)),
        1e-6,
      );
      same(
        bothWays(() => a.matmul(b.select(0, 0))),
        1e-6,
      );
      const m = randn([517, 300], { seed: 8, ...dev, dtype: 'float64' });
      same(
        bothWays(() => m.matmul(randn([300, 64], { seed: 9, ...dev, dtype: 'float64' }))),
        1e-14,
      );
      same(
        bothWays(() => m.transpose(0, 1).matmul(m)),
        1e-14,
      );
    }));
});
