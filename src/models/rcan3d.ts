// RCAN3D: the 3-D residual channel attention network of TiS-/SiS-rDL (light-sheet denoising).
// Volumes are (B, channels, Z, Y, X); the reference's Keras layout is (B, Y, X, Z, channels).
// With `nsm`, the input also goes through the noise suppression module and a second head
// convolution whose features are added to the plain head's (RCAN3D_NSM).
import type { Tensor } from '../engine/index.js';
import { tidy } from '../engine/index.js';
import { ParameterError } from '../errors.js';
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

export interface Rcan3dConfig {
  /** Input and output channels: 4 in the reference's TiS model, 1 in its SiS model. */
  channels: number;
  features: number;
  groups: number;
  /** RCABs per group (the groups have no skip connection of their own, as in the reference). */
  blocks: number;
  reduction: number;
  tailFeatures: number;
  nsm: NsmConfig | null;
}

/** The reference's TiS RCAN3D (3,805,632 trainable parameters; 3,779,709 with 1 channel). */
export const RCAN3D_REFERENCE: Rcan3dConfig = {
  channels: 4,
  features: 64,
  groups: 3,
  blocks: 5,
  reduction: 16,
  tailFeatures: 256,
  nsm: null,
};

/** The reference's 3-D NSM settings (lateral pixel 92.6 nm). */
export const RCAN3D_NSM_REFERENCE: NsmConfig = { cutoff: 4.1, slope: 100, pixelSizeUm: 0.0926 };

/** A small RCAN3D for CPU demos and tests. */
export const RCAN3D_SMALL: Rcan3dConfig = {
  channels: 1,
  features: 8,
  groups: 1,
  blocks: 2,
  reduction: 4,
  tailFeatures: 16,
  nsm: null,
};

export function checkRcan3dConfig(c: Partial<Rcan3dConfig>): Rcan3dConfig {
  const full = { ...RCAN3D_REFERENCE, ...c };
  checkKeys('rcan3d config', full, Object.keys(RCAN3D_REFERENCE));
  for (const k of ['channels', 'features', 'groups', 'blocks', 'reduction', 'tailFeatures'] as const) {
    checkInt(`rcan3d config.${k}`, full[k]);
  }
  if (full.reduction > full.features) {
    throw new ParameterError('rcan3d config.reduction', `at most features (${full.features})`, full.reduction);
  }
  if (full.nsm !== null) {
    const n = { ...RCAN3D_NSM_REFERENCE, ...full.nsm };
    checkKeys('rcan3d config.nsm', n, Object.keys(RCAN3D_NSM_REFERENCE));
    checkNumber('rcan3d config.nsm.cutoff', n.cutoff);
    checkNumber('rcan3d config.nsm.slope', n.slope);
    checkNumber('rcan3d config.nsm.pixelSizeUm', n.pixelSizeUm, true);
    full.nsm = n;
  }
  return full;
}

export class RCAN3D extends Module implements KerasImportable {
  static readonly architecture = 'rcan3d';
  readonly kerasConvName = 'conv3d';
  readonly config: Rcan3dConfig;
  readonly head: Conv;
  readonly nsm: NoiseSuppression | null = null;
  readonly nsmConv: Conv | null = null;
  readonly groups: ResidualGroup[];
  readonly tail: Conv;
  readonly out: Conv;

  constructor(config: Partial<Rcan3dConfig> = {}, opts: { seed?: number } = {}) {
    super();
    const c = checkRcan3dConfig(config);
    this.config = c;
    const seeds = new SeedSequence(opts.seed);
    this.head = this.child('head', new Conv(3, c.channels, c.features, 3, seeds));
    if (c.nsm !== null) {
      this.nsm = this.child('nsm', new NoiseSuppression(c.nsm));
      this.nsmConv = this.child('nsmConv', new Conv(3, c.channels, c.features, 3, seeds));
    }
    this.groups = this.children(
      'groups',
      Array.from({ length: c.groups }, () => new ResidualGroup(3, c.features, c.blocks, c.reduction, false, seeds)),
    );
    this.tail = this.child('tail', new Conv(3, c.features, c.tailFeatures, 3, seeds));
    this.out = this.child('out', new Conv(3, c.tailFeatures, c.channels, 3, seeds));
  }

  /** x: (B, channels, Z, Y, X) → (B, channels, Z, Y, X). The head has no activation, as in the reference. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = this.head.forward(x);
      if (this.nsm !== null && this.nsmConv !== null) h = h.add(this.nsmConv.forward(this.nsm.forward(x)));
      const t = this.tail.forward(runGroups(this.groups, h)).leakyRelu(LEAKY);
      return this.out.forward(t).leakyRelu(LEAKY);
    });
  }

  kerasLayout(): KerasSlot[] {
    const nsm: KerasSlot[] =
      this.nsm !== null && this.nsmConv !== null
        ? [{ kind: 'nsm', path: 'nsm', nsm: this.nsm }, ...convSlots('', [['nsmConv', this.nsmConv]])]
        : [];
    return [
      ...convSlots('', [['head', this.head]]),
      ...nsm,
      ...this.groups.flatMap((g, i) => g.kerasLayout(`groups.${i}.`)),
      ...convSlots('', [
        ['tail', this.tail],
        ['out', this.out],
      ]),
    ];
  }
}
