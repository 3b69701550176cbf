// DFCAN (deep Fourier channel attention network): the SR inference module of rDL-SIM. Raw SIM
// frames (9 = 3 orientations × 3 phases) in, one super-resolved image at `scale`× out, in [0, 1].
import { F, type Tensor, tidy } from '../engine/index.js';
import { ParameterError } from '../errors.js';
import { FourierChannelAttention } from '../nn/attention.js';
import { Conv } from '../nn/conv.js';
import { SeedSequence } from '../nn/init.js';
import { Module } from '../nn/module.js';
import { checkInt, checkKeys, convSlots, type KerasImportable, type KerasSlot } from './common.js';

export interface DfcanConfig {
  /** Input channels (raw frames). */
  inChannels: number;
  outChannels: number;
  /** Feature channels of the body. */
  features: number;
  groups: number;
  /** FCABs per residual group. */
  blocks: number;
  /** Upsampling factor (depth-to-space). */
  scale: number;
  /** Channel reduction of the attention's squeeze. */
  reduction: number;
  /** Side (pixels) the Fourier attention resizes spectra to; the reference's training patch, 128. */
  spectrumSize: number;
  /** Edge apodization (pixels) before the Fourier attention's FFT. */
  apodize: number;
}

/** The reference's DFCAN (1,935,361 trainable parameters). */
export const DFCAN_REFERENCE: DfcanConfig = {
  inChannels: 9,
  outChannels: 1,
  features: 64,
  groups: 4,
  blocks: 4,
  scale: 2,
  reduction: 16,
  spectrumSize: 128,
  apodize: 10,
};

/** A small DFCAN for CPU demos and tests (inputs of at least 2 · apodize pixels per side). */
export const DFCAN_SMALL: DfcanConfig = {
  ...DFCAN_REFERENCE,
  features: 16,
  groups: 2,
  blocks: 2,
  reduction: 4,
  spectrumSize: 32,
};

export function checkDfcanConfig(c: Partial<DfcanConfig>): DfcanConfig {
  const full = { ...DFCAN_REFERENCE, ...c };
  checkKeys('dfcan config', full, Object.keys(DFCAN_REFERENCE));
  for (const k of [
    'inChannels',
    'outChannels',
    'features',
    'groups',
    'blocks',
    'scale',
    'reduction',
    'spectrumSize',
  ] as const) {
    checkInt(`dfcan config.${k}`, full[k]);
  }
  checkInt('dfcan config.apodize', full.apodize, 0);
  if (full.reduction > full.features) {
    throw new ParameterError('dfcan config.reduction', `at most features (${full.features})`, full.reduction);
  }
  return full;
}

/** FCAB: conv + GELU, conv + GELU, Fourier channel attention, + input. */
class FCAB extends Module {
  readonly conv1: Conv;
  readonly conv2: Conv;
  readonly attention: FourierChannelAttention;
  constructor(c: DfcanConfig, seeds: SeedSequence) {
    super();
    this.conv1 = this.child('conv1', new Conv(2, c.features, c.features, 3, seeds));
    this.conv2 = this.child('conv2', new Conv(2, c.features, c.features, 3, seeds));
    this.attention = this.child(
      'attention',
      new FourierChannelAttention(
        c.features,
        { reduction: c.reduction, spectrumSize: c.spectrumSize, apodize: c.apodize },
        seeds,
      ),
    );
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.attention.forward(this.conv2.forward(this.conv1.forward(x).gelu()).gelu()).add(x));
  }
  kerasLayout(prefix: string): KerasSlot[] {
    return convSlots(prefix, [
      ['conv1', this.conv1],
      ['conv2', this.conv2],
      ['attention.spectrumConv', this.attention.spectrumConv],
      ['attention.down', this.attention.down],
      ['attention.up', this.attention.up],
    ]);
  }
}

class FcabGroup extends Module {
  readonly blocks: FCAB[];
  constructor(c: DfcanConfig, seeds: SeedSequence) {
    super();
    this.blocks = this.children(
      'blocks',
      Array.from({ length: c.blocks }, () => new FCAB(c, seeds)),
    );
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = x;
      for (const b of this.blocks) h = b.forward(h);
      return h.add(x);
    });
  }
}

export class DFCAN extends Module implements KerasImportable {
  static readonly architecture = 'dfcan';
  readonly kerasConvName = 'conv2d';
  readonly config: DfcanConfig;
  readonly head: Conv;
  readonly groups: FcabGroup[];
  readonly upsample: Conv;
  readonly out: Conv;

  constructor(config: Partial<DfcanConfig> = {}, opts: { seed?: number } = {}) {
    super();
    const c = checkDfcanConfig(config);
    this.config = c;
    const seeds = new SeedSequence(opts.seed);
    this.head = this.child('head', new Conv(2, c.inChannels, c.features, 3, seeds));
    this.groups = this.children(
      'groups',
      Array.from({ length: c.groups }, () => new FcabGroup(c, seeds)),
    );
    this.upsample = this.child('upsample', new Conv(2, c.features, c.features * c.scale ** 2, 3, seeds));
    this.out = this.child('out', new Conv(2, c.features, c.outChannels, 3, seeds));
  }

  /** x: raw frames (B, inChannels, H, W), normalized to [0, 1] → (B, outChannels, H·scale, W·scale). */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = this.head.forward(x).gelu();
      for (const g of this.groups) h = g.forward(h);
      h = F.pixelShuffle(this.upsample.forward(h).gelu(), this.config.scale);
      return this.out.forward(h).sigmoid();
    });
  }

  kerasLayout(): KerasSlot[] {
    const { features, scale } = this.config;
    const r2 = scale * scale;
    // TensorFlow's depth_to_space reads channel (i·s + j)·C + c for sub-pixel (i, j) of feature c;
    // PyTorch's pixel_shuffle reads c·s² + i·s + j. Our channel o = c·s² + k comes from k·C + c.
    const outOrder = Array.from({ length: features * r2 }, (_, o) => (o % r2) * features + Math.floor(o / r2));
    return [
      ...convSlots('', [['head', this.head]]),
      ...this.groups.flatMap((g, gi) => g.blocks.flatMap((b, bi) => b.kerasLayout(`groups.${gi}.blocks.${bi}.`))),
      { kind: 'conv', path: 'upsample', conv: this.upsample, outOrder },
      ...convSlots('', [['out', this.out]]),
    ];
  }
}
