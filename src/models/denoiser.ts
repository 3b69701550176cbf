// The rDL denoiser for 2-D SIM: two feature branches — one for the modulated pattern estimate
// (MPE, the SR image re-modulated by the illumination patterns), one for the noisy raw frames —
// merged and refined by residual groups. With `nsm` the raw frames also pass through the noise
// suppression module (rDL_Denoiser_NSM). Inputs and output: (B, channels, H, W), channels = the 3
// phases of one orientation.
import { cat, type Tensor, tidy } from '../engine/index.js';
import { ParameterError } from '../errors.js';
import { ChannelAttention } from '../nn/attention.js';
import { Conv } from '../nn/conv.js';
import { SeedSequence } from '../nn/init.js';
import { Module } from '../nn/module.js';
import { NoiseSuppression, type NsmConfig } from '../nn/nsm.js';
import {
  checkInt,
  checkKeys,
  checkNumber,
  convSlots,
  type KerasImportable,
  type KerasSlot,
  LEAKY,
  ResidualGroup,
  runGroups,
} from './common.js';

export interface DenoiserNsmConfig extends NsmConfig {
  /** Channels of each of the two convolutions (filtered, unfiltered) that feed the raw branch. */
  features: number;
}

export interface DenoiserConfig {
  /** Channels of each input and of the output (phases). */
  channels: number;
  features: number;
  /** Residual groups of the MPE branch, the raw branch and the merged trunk. */
  groups: [number, number, number];
  /** RCABs per group. */
  blocks: number;
  reduction: number;
  /** Channels of the last convolution before the output (with its own channel attention). */
  tailFeatures: number;
  /** The noise suppression module on the raw input, or null for the plain denoiser. */
  nsm: DenoiserNsmConfig | null;
}

/** The reference's rDL_Denoiser (4,743,619 trainable parameters). */
export const DENOISER_REFERENCE: DenoiserConfig = {
  channels: 3,
  features: 64,
  groups: [2, 5, 5],
  blocks: 5,
  reduction: 16,
  tailFeatures: 256,
  nsm: null,
};

/** The reference's NSM settings in 2-D (rDL_Denoiser_NSM: 4,780,549 trainable parameters). */
export const DENOISER_NSM_REFERENCE: DenoiserNsmConfig = {
  cutoff: 4.95,
  slope: 100,
  pixelSizeUm: 0.0626,
  features: 32,
};

/** A small denoiser for CPU demos and tests. */
export const DENOISER_SMALL: DenoiserConfig = {
  channels: 3,
  features: 16,
  groups: [1, 1, 1],
  blocks: 2,
  reduction: 4,
  tailFeatures: 32,
  nsm: null,
};

export function checkDenoiserConfig(c: Partial<DenoiserConfig>): DenoiserConfig {
  const full = { ...DENOISER_REFERENCE, ...c };
  checkKeys('denoiser config', full, Object.keys(DENOISER_REFERENCE));
  for (const k of ['channels', 'features', 'blocks', 'reduction', 'tailFeatures'] as const) {
    checkInt(`denoiser config.${k}`, full[k]);
  }
  if (!Array.isArray(full.groups) || full.groups.length !== 3) {
    throw new ParameterError(
      'denoiser config.groups',
      'three group counts [MPE branch, raw branch, trunk]',
      full.groups,
    );
  }
  full.groups.forEach((g, i) => {
    checkInt(`denoiser config.groups[${i}]`, g, 0);
  });
  if (full.reduction > full.features) {
    throw new ParameterError('denoiser config.reduction', `at most features (${full.features})`, full.reduction);
  }
  if (full.nsm !== null) {
    const n = { ...DENOISER_NSM_REFERENCE, ...full.nsm };
    checkKeys('denoiser config.nsm', n, Object.keys(DENOISER_NSM_REFERENCE));
    checkNumber('denoiser config.nsm.cutoff', n.cutoff);
    checkNumber('denoiser config.nsm.slope', n.slope);
    checkNumber('denoiser config.nsm.pixelSizeUm', n.pixelSizeUm, true);
    checkInt('denoiser config.nsm.features', n.features);
    full.nsm = n;
  }
  return { ...full, groups: [...full.groups] };
}

/** conv → LReLU → groups → + conv output → conv → LReLU. */
class Branch extends Module {
  readonly head: Conv;
  readonly groups: ResidualGroup[];
  readonly body: Conv;
  constructor(inChannels: number, nGroups: number, c: DenoiserConfig, seeds: SeedSequence) {
    super();
    this.head = this.child('head', new Conv(2, inChannels, c.features, 3, seeds));
    this.groups = this.children(
      'groups',
      Array.from({ length: nGroups }, () => new ResidualGroup(2, c.features, c.blocks, c.reduction, true, seeds)),
    );
    this.body = this.child('body', new Conv(2, c.features, c.features, 3, seeds));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const h = this.head.forward(x);
      return this.body.forward(runGroups(this.groups, h.leakyRelu(LEAKY)).add(h)).leakyRelu(LEAKY);
    });
  }
  kerasLayout(prefix: string): KerasSlot[] {
    return [
      ...convSlots(prefix, [['head', this.head]]),
      ...this.groups.flatMap((g, i) => g.kerasLayout(`${prefix}groups.${i}.`)),
      ...convSlots(prefix, [['body', this.body]]),
    ];
  }
}

export class RdlDenoiser extends Module implements KerasImportable {
  static readonly architecture = 'rdl-denoiser';
  readonly kerasConvName = 'conv2d';
  readonly config: DenoiserConfig;
  readonly nsm: NoiseSuppression | null = null;
  readonly nsmConv: Conv | null = null;
  readonly plainConv: Conv | null = null;
  readonly patternBranch: Branch;
  readonly rawBranch: Branch;
  readonly merge: Conv;
  readonly groups: ResidualGroup[];
  readonly tail: Conv;
  readonly attention: ChannelAttention;
  readonly out: Conv;

  constructor(config: Partial<DenoiserConfig> = {}, opts: { seed?: number } = {}) {
    super();
    const c = checkDenoiserConfig(config);
    this.config = c;
    const seeds = new SeedSequence(opts.seed);
    let rawChannels = c.channels;
    if (c.nsm !== null) {
      this.nsm = this.child('nsm', new NoiseSuppression(c.nsm));
      this.nsmConv = this.child('nsmConv', new Conv(2, c.channels, c.nsm.features, 3, seeds));
      this.plainConv = this.child('plainConv', new Conv(2, c.channels, c.nsm.features, 3, seeds));
      rawChannels = 2 * c.nsm.features;
    }
    this.patternBranch = this.child('patternBranch', new Branch(c.channels, c.groups[0], c, seeds));
    this.rawBranch = this.child('rawBranch', new Branch(rawChannels, c.groups[1], c, seeds));
    this.merge = this.child('merge', new Conv(2, c.features, c.features, 3, seeds));
    this.groups = this.children(
      'groups',
      Array.from({ length: c.groups[2] }, () => new ResidualGroup(2, c.features, c.blocks, c.reduction, true, seeds)),
    );
    this.tail = this.child('tail', new Conv(2, c.features, c.tailFeatures, 3, seeds));
    this.attention = this.child('attention', new ChannelAttention(2, c.tailFeatures, c.reduction, seeds));
    this.out = this.child('out', new Conv(2, c.tailFeatures, c.channels, 3, seeds));
  }

  /** mpe, raw: (B, channels, H, W) → denoised raw frames (B, channels, H, W). */
  forward(mpe: Tensor, raw: Tensor): Tensor {
    return tidy(() => {
      let r = raw;
      if (this.nsm !== null && this.nsmConv !== null && this.plainConv !== null) {
        // Filtered features first, then unfiltered: the reference's concatenation order.
        r = cat([this.nsmConv.forward(this.nsm.forward(raw)), this.plainConv.forward(raw)], 1);
      }
      const merged = this.merge
        .forward(this.patternBranch.forward(mpe).add(this.rawBranch.forward(r)))
        .leakyRelu(LEAKY);
      const t = this.tail.forward(runGroups(this.groups, merged).add(merged)).leakyRelu(LEAKY);
      return this.out.forward(this.attention.forward(t)).leakyRelu(LEAKY);
    });
  }

  kerasLayout(): KerasSlot[] {
    const front: KerasSlot[] =
      this.nsm !== null && this.nsmConv !== null && this.plainConv !== null
        ? [
            { kind: 'nsm', path: 'nsm', nsm: this.nsm },
            ...convSlots('', [
              ['nsmConv', this.nsmConv],
              ['plainConv', this.plainConv],
            ]),
          ]
        : [];
    return [
      ...front,
      ...this.patternBranch.kerasLayout('patternBranch.'),
      ...this.rawBranch.kerasLayout('rawBranch.'),
      ...convSlots('', [['merge', this.merge]]),
      ...this.groups.flatMap((g, i) => g.kerasLayout(`groups.${i}.`)),
      ...convSlots('', [
        ['tail', this.tail],
        ['attention.down', this.attention.down],
        ['attention.up', this.attention.up],
        ['out', this.out],
      ]),
    ];
  }
}
