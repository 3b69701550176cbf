// Convolutions with PyTorch weight layouts — (out, in, ky, kx) in 2-D, (out, in, kz, ky, kx) in
// 3-D — 'same' zero padding and a bias, as every convolution of the reference networks.
import { F, type Tensor, zeros } from '../engine/index.js';
import { ParameterError } from '../errors.js';
import { glorotUniform, type SeedSequence } from './init.js';
import { Module } from './module.js';

export class Conv extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(
    readonly dims: 2 | 3,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    seeds: SeedSequence,
  ) {
    super();
    for (const [n, v] of [
      ['inChannels', inChannels],
      ['outChannels', outChannels],
      ['kernel', kernel],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ParameterError(`convolution ${n}`, 'an integer ≥ 1', v);
    }
    if (kernel % 2 === 0)
      throw new ParameterError('convolution kernel', "an odd size ('same' padding is symmetric)", kernel);
    const taps = kernel ** dims;
    const shape = [outChannels, inChannels, ...new Array<number>(dims).fill(kernel)];
    this.weight = this.param('weight', glorotUniform(shape, taps * inChannels, taps * outChannels, seeds.next()));
    this.bias = this.param('bias', zeros([outChannels]));
  }

  forward(x: Tensor): Tensor {
    // 'same' for an odd kernel: (k − 1)/2 zeros per side, given explicitly as nn.Conv2d(padding=1)
    // does (libtorch's 'same' mode measured the same speed; explicit padding needs no check).
    const padding = (this.kernel - 1) >> 1;
    return this.dims === 2
      ? F.conv2d(x, this.weight, this.bias, { padding })
      : F.conv3d(x, this.weight, this.bias, { padding });
  }
}
