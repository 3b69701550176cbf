// What every network shares: its configuration checks, its Keras weight layout, and the
// residual blocks of RCAN that the denoisers use.
import { type Tensor, tidy } from '../engine/index.js';
import { ParameterError } from '../errors.js';
import { ChannelAttention } from '../nn/attention.js';
import { Conv } from '../nn/conv.js';
import type { SeedSequence } from '../nn/init.js';
import { Module } from '../nn/module.js';
import type { NoiseSuppression } from '../nn/nsm.js';

/** LeakyReLU slope of the rDL denoisers. */
export const LEAKY = 0.2;

/**
 * One weighted Keras layer, in the order the reference creates it (its Keras name is
 * conv2d_N / conv3d_N with N counting creation). outOrder, when present, maps each of our output
 * channels to the Keras output channel it comes from.
 */
export type KerasSlot =
  | { kind: 'conv'; path: string; conv: Conv; outOrder?: number[] }
  | { kind: 'nsm'; path: string; nsm: NoiseSuppression };

/** A network whose weights can come from the reference's Keras .h5 files. */
export interface KerasImportable extends Module {
  /** 'conv2d' or 'conv3d': the Keras class name prefix of its convolutions. */
  readonly kerasConvName: 'conv2d' | 'conv3d';
  kerasLayout(): KerasSlot[];
}

export function convSlots(prefix: string, convs: Array<[string, Conv]>): KerasSlot[] {
  return convs.map(([name, conv]) => ({ kind: 'conv', path: `${prefix}${name}`, conv }));
}

export function checkInt(field: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ParameterError(field, `an integer ≥ ${min}`, v);
  }
  return v;
}

export function checkNumber(field: string, v: unknown, positive = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (positive && !(v > 0))) {
    throw new ParameterError(field, positive ? 'a number > 0' : 'a finite number', v);
  }
  return v;
}

/** Rejects configuration fields nobody reads (a misspelt field would otherwise be ignored). */
export function checkKeys(what: string, c: object, allowed: readonly string[]): void {
  for (const k of Object.keys(c)) {
    if (!allowed.includes(k)) throw new ParameterError(`${what}.${k}`, `one of the fields ${allowed.join(', ')}`, k);
  }
}

/** RCAB: conv + LReLU, conv + LReLU, channel attention, + input. */
export class RCAB extends Module {
  readonly conv1: Conv;
  readonly conv2: Conv;
  readonly attention: ChannelAttention;
  constructor(dims: 2 | 3, features: number, reduction: number, seeds: SeedSequence) {
    super();
    this.conv1 = this.child('conv1', new Conv(dims, features, features, 3, seeds));
    this.conv2 = this.child('conv2', new Conv(dims, features, features, 3, seeds));
    this.attention = this.child('attention', new ChannelAttention(dims, features, reduction, seeds));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const h = this.conv2.forward(this.conv1.forward(x).leakyRelu(LEAKY)).leakyRelu(LEAKY);
      return this.attention.forward(h).add(x);
    });
  }
  kerasLayout(prefix: string): KerasSlot[] {
    return convSlots(prefix, [
      ['conv1', this.conv1],
      ['conv2', this.conv2],
      ['attention.down', this.attention.down],
      ['attention.up', this.attention.up],
    ]);
  }
}

/** n RCABs, plus the group's input when skip is set (the 2-D denoiser has it, RCAN3D does not). */
export class ResidualGroup extends Module {
  readonly blocks: RCAB[];
  constructor(
    dims: 2 | 3,
    features: number,
    blocks: number,
    reduction: number,
    readonly skip: boolean,
    seeds: SeedSequence,
  ) {
    super();
    this.blocks = this.children(
      'blocks',
      Array.from({ length: blocks }, () => new RCAB(dims, features, reduction, seeds)),
    );
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = x;
      for (const b of this.blocks) h = b.forward(h);
      return this.skip ? h.add(x) : h;
    });
  }
  kerasLayout(prefix: string): KerasSlot[] {
    return this.blocks.flatMap((b, i) => b.kerasLayout(`${prefix}blocks.${i}.`));
  }
}

/** Runs groups one after another. */
export function runGroups(groups: readonly ResidualGroup[], x: Tensor): Tensor {
  return tidy(() => {
    let h = x;
    for (const g of groups) h = g.forward(h);
    return h;
  });
}
