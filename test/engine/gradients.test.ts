// Every differentiable op of the engine: autograd gradient = finite differences (float64).
import { describe, it } from 'node:test';
import { cat, complex, F, fft, stack, type Tensor, tensor } from '../../src/engine/index.js';
import { gradcheck, uniform } from './gradcheck.js';

const s = (...shape: number[]) => ({ shape });
const pos = (...shape: number[]) => ({
  shape,
  values: uniform(
    shape.reduce((a, b) => a * b, 1),
    0.5,
    2,
    11,
  ),
});
// Values well away from 0 (for relu, abs, leaky_relu, sign-sensitive ops).
const awayFromZero = (...shape: number[]) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = uniform(n, 0.3, 1.5, 5).map((x, i) => (i % 2 ? -x : x));
  return { shape, values: v };
};

describe('gradients: element-wise', () => {
  const unary: Array<[string, (x: Tensor) => Tensor, ReturnType<typeof s>]> = [
    ['neg', (x) => x.neg(), s(3, 4)],
    ['abs', (x) => x.abs(), awayFromZero(3, 4)],
    ['exp', (x) => x.exp(), s(3, 4)],
    ['log', (x) => x.log(), pos(3, 4)],
    ['sqrt', (x) => x.sqrt(), pos(3, 4)],
    ['square', (x) => x.square(), s(3, 4)],
    ['sin', (x) => x.sin(), s(3, 4)],
    ['cos', (x) => x.cos(), s(3, 4)],
    ['erf', (x) => x.erf(), s(3, 4)],
    ['sigmoid', (x) => x.sigmoid(), s(3, 4)],
    ['relu', (x) => x.relu(), awayFromZero(3, 4)],
    ['leaky_relu', (x) => x.leakyRelu(0.2), awayFromZero(3, 4)],
    ['gelu', (x) => x.gelu(), s(3, 4)],
    ['tanh', (x) => x.tanh(), s(3, 4)],
    ['clamp', (x) => x.clamp(-0.5, 0.5), awayFromZero(3, 4)],
    ['pow scalar', (x) => x.pow(2.5), pos(3, 4)],
    ['reciprocal', (x) => x.reciprocal(), pos(3, 4)],
  ];
  for (const [name, f, inp] of unary) it(name, () => gradcheck(name, f, [inp]));

  const binary: Array<[string, (a: Tensor, b: Tensor) => Tensor]> = [
    ['add', (a, b) => a.add(b)],
    ['sub', (a, b) => a.sub(b)],
    ['mul', (a, b) => a.mul(b)],
    ['div', (a, b) => a.div(b)],
    ['pow', (a, b) => a.pow(b)],
    ['atan2', (a, b) => a.atan2(b)],
    ['maximum', (a, b) => a.maximum(b)],
    ['minimum', (a, b) => a.minimum(b)],
  ];
  for (const [name, f] of binary) {
    // Broadcasting (3,4) with (4): the gradient of the broadcast input sums over rows.
    it(`${name} (broadcast)`, () => gradcheck(name, f, [pos(3, 4), { shape: [4], values: uniform(4, 0.6, 1.9, 3) }]));
  }
  it('where', () => gradcheck('where', (a, b) => a.where(a.gt(0), b), [awayFromZero(3, 4), s(3, 4)]));
  it('scalar arithmetic', () => gradcheck('scalar', (x) => x.mul(3).add(1).rsub(2).div(4).rdiv(1), [pos(5)]));
});

describe('gradients: reductions and matmul', () => {
  it('sum over dims', () => gradcheck('sum', (x) => x.sum([0, 2]), [s(2, 3, 4)]));
  it('mean keepdim', () => gradcheck('mean', (x) => x.mean(1, true), [s(2, 3, 4)]));
  it('max over dim', () => gradcheck('max', (x) => x.max(1), [s(3, 5)]));
  it('min over all', () => gradcheck('min', (x) => x.min(), [s(3, 5)]));
  it('std', () => gradcheck('std', (x) => x.std(1), [s(3, 5)]));
  it('quantile', () => gradcheck('quantile', (x) => x.quantile(0.3, 1), [s(3, 6)]));
  it('matmul', () => gradcheck('matmul', (a, b) => a.matmul(b), [s(2, 3, 4), s(4, 5)]));
  it('softmax', () => gradcheck('softmax', (x) => x.softmax(1), [s(3, 4)]));
});

describe('gradients: shape ops', () => {
  const cases: Array<[string, (x: Tensor) => Tensor, number[]]> = [
    ['reshape', (x) => x.reshape(4, 6), [2, 3, 4]],
    ['permute', (x) => x.permute(2, 0, 1), [2, 3, 4]],
    ['transpose', (x) => x.transpose(0, 2).contiguous(), [2, 3, 4]],
    ['narrow', (x) => x.narrow(1, 1, 2), [2, 3, 4]],
    ['slice step', (x) => x.slice(2, 0, null, 2), [2, 3, 4]],
    ['select', (x) => x.select(0, 1), [2, 3, 4]],
    ['flip', (x) => x.flip([0, 2]), [2, 3, 4]],
    ['roll', (x) => x.roll([1, -1], [1, 2]), [2, 3, 4]],
    ['repeat', (x) => x.repeat(2, 1, 3), [2, 3, 4]],
    ['expand', (x) => x.expand(3, 2, 4), [2, 1]],
    ['unsqueeze/squeeze', (x) => x.unsqueeze(1).squeeze(1), [2, 3]],
    ['pad constant', (x) => x.pad([1, 2, 0, 1], 'constant', 0.5), [1, 2, 3, 4]],
    ['pad reflect', (x) => x.pad([2, 1, 1, 2], 'reflect'), [1, 2, 3, 4]],
    ['pad replicate 3d', (x) => x.pad([1, 1, 1, 0, 0, 1], 'replicate'), [1, 1, 2, 3, 3]],
    ['index_select', (x) => x.indexSelect(1, tensor(new Int32Array([2, 0, 2]), [3], { dtype: 'int64' })), [2, 3]],
  ];
  for (const [name, f, shape] of cases) it(name, () => gradcheck(name, f, [s(...shape)]));
  it('cat', () => gradcheck('cat', (a, b) => cat([a, b], 1), [s(2, 3), s(2, 2)]));
  it('stack', () => gradcheck('stack', (a, b) => stack([a, b], 0), [s(2, 3), s(2, 3)]));
});

describe('gradients: convolution, pooling, resampling', () => {
  it('conv2d stride/padding/bias', () =>
    gradcheck('conv2d', (x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1 }), [
      s(1, 2, 5, 5),
      s(3, 2, 3, 3),
      s(3),
    ]));
  it('conv2d same, groups', () =>
    gradcheck('conv2d groups', (x, w) => F.conv2d(x, w, null, { padding: 'same', groups: 2 }), [
      s(1, 4, 4, 4),
      s(4, 2, 3, 3),
    ]));
  it('conv3d', () =>
    gradcheck('conv3d', (x, w, b) => F.conv3d(x, w, b, { padding: 1 }), [s(1, 2, 3, 4, 4), s(2, 2, 3, 3, 3), s(2)]));
  it('avg pool 2d', () => gradcheck('avgpool', (x) => F.avgPool2d(x, 2), [s(1, 2, 4, 4)]));
  it('avg pool 3d', () => gradcheck('avgpool3d', (x) => F.avgPool3d(x, 2), [s(1, 1, 2, 4, 4)]));
  it('adaptive avg pool', () => gradcheck('adaptive', (x) => F.adaptiveAvgPool(x, [1, 1]), [s(1, 3, 4, 5)]));
  it('interpolate bilinear', () => gradcheck('bilinear', (x) => F.interpolate(x, [7, 5], 'bilinear'), [s(1, 2, 4, 3)]));
  it('interpolate trilinear', () =>
    gradcheck('trilinear', (x) => F.interpolate(x, [3, 4, 6], 'trilinear'), [s(1, 1, 2, 3, 3)]));
  it('interpolate nearest', () => gradcheck('nearest', (x) => F.interpolate(x, [6, 6], 'nearest'), [s(1, 1, 3, 3)]));
  it('pixel shuffle', () => gradcheck('pixelShuffle', (x) => F.pixelShuffle(x, 2), [s(1, 8, 2, 3)]));
  it('pixel unshuffle', () => gradcheck('pixelUnshuffle', (x) => F.pixelUnshuffle(x, 2), [s(1, 2, 4, 6)]));
  it('grid sample through affine grid (rotation)', () =>
    gradcheck('gridSample', (x, theta) => F.gridSample(x, F.affineGrid(theta, [1, 1, 4, 4]), { padding: 'border' }), [
      s(1, 1, 4, 4),
      { shape: [1, 2, 3], values: new Float64Array([0.9, -0.3, 0.037, 0.3, 0.9, -0.013]) },
    ]));
});

describe('gradients: complex numbers and FFTs', () => {
  it('fft2 then abs', () => gradcheck('fft2 abs', (x) => fft.fft2(x).abs(), [s(4, 6)]));
  it('ifft2 of complex(re, im)', () => gradcheck('ifft2', (re, im) => fft.ifft2(complex(re, im)), [s(4, 4), s(4, 4)]));
  it('rfft2 / irfft2 odd size', () =>
    gradcheck('rfft2', (x) => fft.irfft2(fft.rfft2(x).mul(2), { s: [5, 5] }), [s(5, 5)]));
  it('fftn 3d', () => gradcheck('fftn', (x) => fft.fftn(x), [s(2, 3, 4)]));
  it('fftshift', () => gradcheck('fftshift', (x) => fft.fftshift(fft.fft2(x), [-2, -1]).real(), [s(3, 4)]));
  it('real, imag, angle, conj', () =>
    gradcheck(
      'complex parts',
      (re, im) => {
        const z = complex(re, im).conj();
        return stack([z.real(), z.imag(), z.angle()]);
      },
      [pos(3), pos(3)],
    ));
});
