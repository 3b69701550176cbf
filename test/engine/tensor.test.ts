// Values of the engine's ops on the test device (RDL_DEVICE, default cpu).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  arange,
  cat,
  F,
  full,
  linspace,
  meshgrid,
  ones,
  poisson,
  rand,
  randint,
  randn,
  randperm,
  scalar,
  stack,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from '../../src/engine/index.js';
import { assertClose, DEVICE, values } from '../helpers.js';

const dev = { device: DEVICE };
const t = (v: number[], shape?: number[]) => tensor(v, shape ?? [v.length], dev);

describe('creation and conversion', () => {
  it('keeps each typed array type, and widens uint16 exactly', () => {
    const cases: Array<[ArrayBufferView & ArrayLike<number | bigint>, string]> = [
      [new Float32Array([1.5, -2]), 'float32'],
      [new Float64Array([1.5, -2]), 'float64'],
      [new Int32Array([7, -8]), 'int32'],
      [new Int16Array([-32768, 32767]), 'int16'],
      [new Uint8Array([0, 255]), 'uint8'],
      [new Uint16Array([0, 65535]), 'int32'],
      [new BigInt64Array([5n, -6n]), 'int64'],
    ];
    for (const [arr, dtype] of cases) {
      tidy(() => {
        const x = tensor(arr as never, [2], dev);
        assert.equal(x.dtype, dtype);
        assert.deepEqual(x.shape, [2]);
        assert.deepEqual(values(x), Array.from(arr as ArrayLike<number | bigint>, Number));
      });
    }
  });
  it('converts dtypes on creation and with to()', () =>
    tidy(() => {
      const x = tensor(new Uint16Array([1, 40000]), [2], { ...dev, dtype: 'float32' });
      assert.equal(x.dtype, 'float32');
      assert.deepEqual(values(x), [1, 40000]);
      const h = x.to('float16');
      assert.equal(h.dtype, 'float16');
      assert.deepEqual(values(h), [1, 40000]);
      assert.equal(x.to('bfloat16').dtype, 'bfloat16');
      assert.equal(x.to('complex64').dtype, 'complex64');
      assert.deepEqual(values(x.to('complex64')), [1, 0, 40000, 0]);
      assert.equal(x.device, DEVICE === 'cuda' ? 'cuda:0' : DEVICE);
    }));
  it("reads into a caller's typed array (a subarray view too) and refuses the wrong type or length", () =>
    tidy(() => {
      const buffer = new Float32Array(8).fill(-1);
      tensor([1, 2, 3, 4], [2, 2], dev).readInto(buffer.subarray(2, 6));
      assert.deepEqual(Array.from(buffer), [-1, -1, 1, 2, 3, 4, -1, -1]);
      const z = new Float64Array(4);
      tensor([1, 2, 3, 4], [2, 2], { ...dev, dtype: 'float64' })
        .viewAsComplex()
        .conj()
        .readInto(z);
      assert.deepEqual(Array.from(z), [1, -2, 3, -4]); // conjugate resolved, interleaved re, im
      assert.throws(() => tensor([1, 2], [2], dev).readInto(new Float64Array(2)), /element type/);
      assert.throws(
        () => tensor([1, 2], [2], dev).readInto(new Float32Array(3)),
        /holds 3 elements but the tensor has 2/,
      );
    }));
  it('creates full/zeros/ones/arange/linspace/meshgrid', () =>
    tidy(() => {
      assert.deepEqual(values(full([2, 2], 3.5, dev)), [3.5, 3.5, 3.5, 3.5]);
      assert.deepEqual(values(zeros([3], dev)), [0, 0, 0]);
      assert.deepEqual(values(ones([2], { ...dev, dtype: 'int32' })), [1, 1]);
      assert.deepEqual(values(arange(0, 5, 2, dev)), [0, 2, 4]);
      assertClose(values(linspace(0, 1, 5, dev)), [0, 0.25, 0.5, 0.75, 1], 1e-7);
      const [yy, xx] = meshgrid(arange(0, 2, 1, dev), arange(0, 3, 1, dev));
      assert.deepEqual(yy!.shape, [2, 3]);
      assert.deepEqual(values(yy!), [0, 0, 0, 1, 1, 1]);
      assert.deepEqual(values(xx!), [0, 1, 2, 0, 1, 2]);
      assert.equal(scalar(4, dev).item(), 4);
    }));
  it('draws seeded random numbers reproducibly, the same on every device', () =>
    tidy(() => {
      assert.deepEqual(values(randn([5], { seed: 3, ...dev })), values(randn([5], { seed: 3, device: 'cpu' })));
      assert.notDeepEqual(values(randn([5], { seed: 3, ...dev })), values(randn([5], { seed: 4, ...dev })));
      const u = values(rand([1000], { seed: 1, ...dev }));
      assert.ok(u.every((v) => v >= 0 && v < 1));
      assertClose([u.reduce((a, b) => a + b) / u.length], [0.5], 0.05);
      const n = randn([20000], { seed: 2, ...dev });
      assertClose([n.mean().item(), n.std().item()], [0, 1], 0.03);
      const r = values(randint(3, 7, [500], { seed: 5, ...dev }));
      assert.ok(r.every((v) => Number.isInteger(v) && v >= 3 && v < 7));
      assert.deepEqual([...values(randperm(6, { seed: 1, ...dev }))].sort(), [0, 1, 2, 3, 4, 5]);
      const p = poisson(full([20000], 4, dev), 9);
      assertClose([p.mean().item(), p.variance().item()], [4, 4], 0.15);
    }));
});

describe('element-wise math with broadcasting', () => {
  it('broadcasts (2,3) with (3) and (2,1)', () =>
    tidy(() => {
      const a = t([1, 2, 3, 4, 5, 6], [2, 3]);
      assert.deepEqual(values(a.add(t([10, 20, 30]))), [11, 22, 33, 14, 25, 36]);
      assert.deepEqual(values(a.mul(t([2, 3], [2, 1]))), [2, 4, 6, 12, 15, 18]);
      assert.deepEqual(a.sub(t([1], [1, 1])).shape, [2, 3]);
    }));
  it('computes known values', () =>
    tidy(() => {
      const x = t([0.5, 1, 2]);
      assertClose(values(x.exp()), [Math.exp(0.5), Math.E, Math.exp(2)], 1e-5, 1e-6);
      assertClose(values(x.log()), [Math.log(0.5), 0, Math.log(2)], 1e-6);
      assertClose(values(x.sqrt()), [Math.sqrt(0.5), 1, Math.SQRT2], 1e-6);
      assertClose(values(x.pow(3)), [0.125, 1, 8], 1e-6);
      assertClose(values(x.sin()), [Math.sin(0.5), Math.sin(1), Math.sin(2)], 1e-6);
      assertClose(values(x.cos()), [Math.cos(0.5), Math.cos(1), Math.cos(2)], 1e-6);
      assertClose(values(x.erf()), [0.5204998778, 0.8427007929, 0.995322265], 1e-6);
      assertClose(
        values(x.sigmoid()),
        [1 / (1 + Math.exp(-0.5)), 1 / (1 + Math.exp(-1)), 1 / (1 + Math.exp(-2))],
        1e-6,
      );
      assertClose(values(x.tanh()), [Math.tanh(0.5), Math.tanh(1), Math.tanh(2)], 1e-6);
      // GELU in its exact form x·Φ(x) (not the tanh approximation): Φ(1) = 0.8413447461
      assertClose(values(t([1, -1]).gelu()), [0.8413447461, -0.1586552539], 1e-6);
      assertClose(values(t([-2, 3]).leakyRelu(0.2)), [-0.4, 3], 1e-7);
      assertClose(values(t([-2, 3]).relu()), [0, 3], 0);
      assertClose(values(t([1, -1]).atan2(t([-1, -1]))), [(3 * Math.PI) / 4, (-3 * Math.PI) / 4], 1e-6);
      assertClose(values(t([-3, 0.2, 5]).clamp(0, 1)), [0, 0.2, 1], 1e-7);
      assertClose(values(t([-3, 0.2, 5]).abs()), [3, 0.2, 5], 1e-7);
      assertClose(values(x.rsub(1)), [0.5, 0, -1], 1e-7);
      assertClose(values(x.rdiv(1)), [2, 1, 0.5], 1e-7);
    }));
  it('compares and selects', () =>
    tidy(() => {
      const a = t([1, 5, 3]);
      const b = t([2, 5, 1]);
      assert.deepEqual(values(a.lt(b)), [1, 0, 0]);
      assert.deepEqual(values(a.eq(b)), [0, 1, 0]);
      assert.deepEqual(values(a.ge(3)), [0, 1, 1]);
      assert.equal(a.gt(b).dtype, 'bool');
      assert.deepEqual(values(a.where(a.gt(b), b)), [2, 5, 3]);
      assert.deepEqual(values(a.maximum(b)), [2, 5, 3]);
    }));
  it('keeps the tensor dtype with a number operand (as PyTorch x * 2)', () =>
    tidy(() => {
      assert.equal(tensor(new Float32Array([1]), [1], dev).mul(2.5).dtype, 'float32');
      assert.equal(tensor(new Float64Array([1]), [1], dev).mul(2.5).dtype, 'float64');
    }));
  it('updates in place', () =>
    tidy(() => {
      const x = t([1, 2, 3]);
      x.add_(t([1, 1, 1]), 2).mul_(2);
      assert.deepEqual(values(x), [6, 8, 10]);
      x.clamp_(7, 9).add_(1);
      assert.deepEqual(values(x), [8, 9, 10]);
      x.copy_(t([4, 5, 6]));
      assert.deepEqual(values(x), [4, 5, 6]);
      x.fill_(2);
      assert.deepEqual(values(x), [2, 2, 2]);
    }));
});

describe('complex numbers', () => {
  it('builds and takes apart complex tensors', async () => {
    const { complex, polar } = await import('../../src/engine/index.js');
    tidy(() => {
      const z = complex(t([3, 0]), t([4, -2]));
      assert.equal(z.dtype, 'complex64');
      assertClose(values(z.abs()), [5, 2], 1e-6);
      assertClose(values(z.angle()), [Math.atan2(4, 3), -Math.PI / 2], 1e-6);
      assertClose(values(z.conj().imag()), [-4, 2], 1e-6);
      assertClose(values(z.real()), [3, 0], 0);
      assertClose(values(z.mul(z)), [-7, 24, -4, 0], 1e-5);
      assertClose(values(polar(t([2]), t([Math.PI / 2]))), [0, 2], 1e-6);
      assertClose(values(z.viewAsReal()), [3, 4, 0, -2], 0);
    });
  });
});

describe('reductions', () => {
  const x = () => t([1, 2, 3, 4, 5, 6], [2, 3]);
  it('sum/mean/max/min/std over all and over dims', () =>
    tidy(() => {
      assert.equal(x().sum().item(), 21);
      assert.deepEqual(values(x().sum(0)), [5, 7, 9]);
      assert.deepEqual(x().sum(1, true).shape, [2, 1]);
      assert.deepEqual(values(x().mean(1)), [2, 5]);
      assert.equal(x().max().item(), 6);
      assert.deepEqual(values(x().min(0)), [1, 2, 3]);
      assert.deepEqual(values(x().max([0, 1], true)), [6]);
      assertClose([x().std().item()], [Math.sqrt(3.5)], 1e-6); // unbiased
      assertClose([x().std(undefined, false, false).item()], [Math.sqrt(35 / 12)], 1e-6);
      assert.deepEqual(values(x().argmax(1)), [2, 2]);
      assert.equal(x().argmax().item(), 5);
      assert.equal(x().prod().item(), 720);
    }));
  it('quantile interpolates linearly as numpy.percentile', () =>
    tidy(() => {
      const v = t([10, 1, 7, 3, 5]);
      assert.equal(v.quantile(0.5).item(), 5);
      assertClose([v.quantile(0.1).item()], [1.8], 1e-6); // numpy.percentile([10,1,7,3,5], 10) = 1.8
      assertClose([v.quantile(0.999).item()], [9.988], 1e-4);
      assertClose(values(x().quantile(0.5, 1)), [2, 5], 1e-6);
      // Larger than at::quantile's 16M-element limit: the engine uses kthvalue instead.
      const big = arange(0, 17_000_001, 1, { ...dev, dtype: 'float64' });
      assert.equal(big.quantile(0.5).item(), 8_500_000);
    }));
});

describe('shape and indexing', () => {
  it('reshapes, permutes, slices', () =>
    tidy(() => {
      const a = arange(0, 24, 1, dev).reshape(2, 3, 4);
      assert.deepEqual(a.permute(2, 0, 1).shape, [4, 2, 3]);
      assert.deepEqual(values(a.permute(2, 0, 1).select(0, 1)), [1, 5, 9, 13, 17, 21]);
      assert.deepEqual(values(a.transpose(0, 1).contiguous().select(0, 0)), [0, 1, 2, 3, 12, 13, 14, 15]);
      assert.deepEqual(values(a.narrow(2, 1, 2).select(0, 0)), [1, 2, 5, 6, 9, 10]);
      assert.deepEqual(values(a.slice(2, 0, null, 2).select(0, 1)), [12, 14, 16, 18, 20, 22]);
      assert.deepEqual(values(a.flip(2).select(0, 0).select(0, 0)), [3, 2, 1, 0]);
      // Overlapping windows: the Hankel matrix H[i, j] = v[i + j].
      assert.deepEqual(values(t([1, 2, 3, 4, 5]).unfold(0, 3, 1)), [1, 2, 3, 2, 3, 4, 3, 4, 5]);
      assert.deepEqual(t([1, 2, 3, 4, 5]).unfold(0, 2, 2).shape, [2, 2]);
      assert.deepEqual(values(t([0, 1, 2, 3, 4]).roll(2, 0)), [3, 4, 0, 1, 2]);
      assert.deepEqual(
        values(t([5, 6, 7]).indexSelect(0, tensor(new Int32Array([2, 0]), [2], { ...dev, dtype: 'int64' }))),
        [7, 5],
      );
      assert.deepEqual(a.view(6, 4).shape, [6, 4]);
      assert.deepEqual(a.flatten().shape, [24]);
      assert.equal(a.rank, 3);
      assert.equal(a.size, 24);
      assert.equal(a.dim(-1), 4);
    }));
  it('concatenates, stacks, repeats, expands, pads', () =>
    tidy(() => {
      const a = t([1, 2], [1, 2]);
      assert.deepEqual(values(cat([a, a.mul(3)], 0)), [1, 2, 3, 6]);
      assert.deepEqual(stack([a, a], 2).shape, [1, 2, 2]);
      assert.deepEqual(values(a.repeat(2, 2)), [1, 2, 1, 2, 1, 2, 1, 2]);
      assert.deepEqual(values(t([1, 2], [2, 1]).expand(2, 3)), [1, 1, 1, 2, 2, 2]);
      const img = t([1, 2, 3, 4, 5, 6], [1, 1, 2, 3]);
      // reflect: mirror without repeating the edge (numpy 'reflect')
      assert.deepEqual(values(img.pad([2, 1, 0, 0], 'reflect').select(2, 0).flatten()), [3, 2, 1, 2, 3, 2]);
      assert.deepEqual(values(img.pad([1, 0, 0, 0], 'constant', 9).select(2, 1).flatten()), [9, 4, 5, 6]);
      assert.deepEqual(values(img.pad([0, 1, 0, 0], 'replicate').select(2, 1).flatten()), [4, 5, 6, 6]);
      assert.deepEqual(values(img.pad([1, 0, 0, 0], 'circular').select(2, 0).flatten()), [3, 1, 2, 3]);
    }));
  it('multiplies matrices (batched)', () =>
    tidy(() => {
      const a = t([1, 2, 3, 4], [2, 2]);
      assert.deepEqual(values(a.matmul(t([5, 6, 7, 8], [2, 2]))), [19, 22, 43, 50]);
      assert.deepEqual(ones([3, 2, 4], dev).matmul(ones([4, 5], dev)).shape, [3, 2, 5]);
    }));
});

describe('neural-network ops', () => {
  it('convolves with padding, stride, groups and bias', () =>
    tidy(() => {
      const x = arange(1, 17, 1, dev).reshape(1, 1, 4, 4);
      const w = ones([1, 1, 3, 3], dev);
      assert.deepEqual(values(F.conv2d(x, w)), [54, 63, 90, 99]); // valid 3×3 box sums
      const same = F.conv2d(x, w, t([1]), { padding: 'same' });
      assert.deepEqual(same.shape, [1, 1, 4, 4]);
      assert.equal(values(same)[0], 1 + 2 + 5 + 6 + 1);
      assert.deepEqual(F.conv2d(x, w, null, { stride: 2, padding: 1 }).shape, [1, 1, 2, 2]);
      const g = F.conv2d(ones([1, 4, 3, 3], dev), ones([2, 2, 1, 1], dev), null, { groups: 2 });
      assert.deepEqual(values(g.mean([2, 3])), [2, 2]);
      const v = F.conv3d(ones([1, 1, 3, 3, 3], dev), ones([1, 1, 3, 3, 3], dev), null, { padding: 1 });
      assert.equal(values(v)[13], 27);
      assert.equal(values(v)[0], 8);
    }));
  it('pools and resamples (half-pixel centres, no antialias)', () =>
    tidy(() => {
      const x = t([1, 2, 3, 4], [1, 1, 2, 2]);
      assert.deepEqual(values(F.avgPool2d(x, 2)), [2.5]);
      assert.deepEqual(values(F.maxPool2d(x, 2)), [4]);
      assert.deepEqual(values(F.adaptiveAvgPool(x, [1, 1])), [2.5]);
      // 2 → 4 bilinear with align_corners=false: [1, 1.25, 1.75, 2] along a row
      assertClose(values(F.interpolate(x, [2, 4], 'bilinear')).slice(0, 4), [1, 1.25, 1.75, 2], 1e-6);
      assert.deepEqual(values(F.interpolate(x, [4, 4], 'nearest')).slice(0, 4), [1, 1, 2, 2]);
      // 4 → 2 downsampling averages neighbours only at half-pixel centres (no antialias)
      const row = t([0, 10, 20, 30], [1, 1, 1, 4]);
      assertClose(values(F.interpolate(row, [1, 2], 'bilinear')), [5, 25], 1e-6);
      assert.deepEqual(F.interpolate(ones([1, 1, 2, 2, 2], dev), [4, 4, 4], 'trilinear').shape, [1, 1, 4, 4, 4]);
    }));
  it('pixel-shuffles in PyTorch channel order', () =>
    tidy(() => {
      const x = arange(0, 4, 1, dev).reshape(1, 4, 1, 1);
      assert.deepEqual(values(F.pixelShuffle(x, 2)), [0, 1, 2, 3]);
      assert.deepEqual(values(F.pixelUnshuffle(F.pixelShuffle(x, 2), 2)), [0, 1, 2, 3]);
    }));
  it('rotates with affine_grid + grid_sample', () =>
    tidy(() => {
      const img = t([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
      // 90° rotation: x' = −y, y' = x in normalized coordinates
      const theta = t([0, -1, 0, 1, 0, 0], [1, 2, 3]);
      const rot = F.gridSample(img, F.affineGrid(theta, [1, 1, 3, 3]), { mode: 'nearest' });
      assert.deepEqual(values(rot), [3, 6, 9, 2, 5, 8, 1, 4, 7]);
    }));
});

describe('tensor bookkeeping', () => {
  it('reports shape, dtype, device and a readable string', () =>
    tidy(() => {
      const x: Tensor = zeros([2, 3], dev);
      assert.match(String(x), /Tensor\(\[2,3\], float32, (cpu|cuda:\d)\)/);
      assert.equal(x.isContiguous(), true);
      assert.equal(x.transpose(0, 1).isContiguous(), false);
    }));
});
