// Error messages a user of the engine meets: they name the op and the shapes involved.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cudaAvailable, F, ones, tensor, tidy, zeros } from '../../src/engine/index.js';
import { DEVICE } from '../helpers.js';

const dev = { device: DEVICE };

describe('engine errors', () => {
  it('names the op and the shapes for a broadcasting mismatch', () =>
    tidy(() => {
      assert.throws(
        () => ones([2, 3], dev).add(ones([4], dev)),
        (e: Error) =>
          /^add: .*size of tensor a \(3\) must match .*\(tensors: \[2,3\] float32.*, \[4\] float32/.test(e.message),
      );
    }));
  it('names the op for a convolution channel mismatch', () =>
    tidy(() => {
      assert.throws(
        () => F.conv2d(ones([1, 3, 8, 8], dev), ones([4, 2, 3, 3], dev)),
        (e: Error) =>
          e.message.startsWith('conv: ') && e.message.includes('[1,3,8,8]') && e.message.includes('[4,2,3,3]'),
      );
    }));
  it('rejects a wrong dtype', () =>
    tidy(() => {
      assert.throws(
        () => ones([2, 2], { ...dev, dtype: 'float32' }).matmul(ones([2, 2], { ...dev, dtype: 'float64' })),
        (e: Error) => e.message.startsWith('matmul: ') && /float32.*float64|dtype/i.test(e.message),
      );
      assert.throws(
        () => F.conv2d(ones([1, 1, 3, 3], dev), ones([1, 1, 1, 1], { ...dev, dtype: 'float64' })),
        /conv: expected scalar type Float but found Double \(tensors: \[1,1,3,3\] float32.*\[1,1,1,1\] float64/,
      );
      assert.throws(() => zeros([2], { dtype: 'float8' as never }), /unknown dtype 'float8'/);
    }));
  it('rejects a bad reshape and a bad data length', () => {
    assert.throws(
      () => tidy(() => ones([2, 3], dev).reshape(4, 2)),
      /reshape: shape '\[4, 2\]' is invalid for input of size 6/,
    );
    assert.throws(() => tensor(new Float32Array(5), [2, 3]), /fromArray: shape holds 6 elements but the array has 5/);
  });
  it('refuses a tensor after dispose', () => {
    const x = ones([2], dev);
    x.dispose();
    assert.equal(x.isDisposed, true);
    assert.throws(() => x.exp(), /used after dispose/);
    assert.throws(() => x.shape, /used after dispose/);
    x.dispose(); // a second dispose is harmless
  });
  it('refuses an unknown device and explains a missing GPU', (t) => {
    assert.throws(() => ones([1], { device: 'tpu' }), /unknown device 'tpu' \(expected cpu, cuda or cuda:N\)/);
    if (cudaAvailable()) {
      t.diagnostic('CUDA present: checked an out-of-range GPU index instead');
      assert.throws(() => ones([1], { device: 'cuda:99' }), /does not exist/);
    } else {
      assert.throws(() => ones([1], { device: 'cuda' }), /no CUDA support or no GPU is visible/);
    }
  });
  it('requires a scalar or a gradient for backward', () =>
    tidy(() => {
      const x = ones([3], dev).requiresGrad_();
      assert.throws(() => x.mul(2).backward(), /non-scalar needs a gradient/);
      assert.throws(() => ones([1], dev).backward(), /does not require grad/);
    }));
});
