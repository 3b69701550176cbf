// Reduce-LR-on-plateau with the reference's semantics (utils.ReduceLROnPlateau, Keras-style, mode
// 'min'): a monitored value counts as an improvement when it is below best − minDelta; after
// `patience` validations without one, the learning rate is multiplied by `factor`, never below
// `minLr`, and the wait starts again (after `cooldown` validations). Its state is plain numbers,
// saved in the checkpoint.
import { ParameterError } from '../errors.js';

export interface PlateauOptions {
  /** Multiplier of the learning rate at a plateau (the reference's lr_decay_factor, 0.5). */
  factor: number;
  /** Validations without improvement before a reduction (10 for SR, 15 for the denoiser). */
  patience: number;
  /** An improvement must beat the best value by more than this (1e-4). */
  minDelta: number;
  /** Validations after a reduction during which no wait is counted (0). */
  cooldown: number;
  /** The learning rate's floor (the reference: 0.1 × the start rate). */
  minLr: number;
}

export interface PlateauState {
  best: number;
  wait: number;
  cooldownCounter: number;
}

export class ReduceLrOnPlateau {
  readonly o: PlateauOptions;
  state: PlateauState = { best: Number.POSITIVE_INFINITY, wait: 0, cooldownCounter: 0 };

  constructor(o: PlateauOptions) {
    if (!(o.factor > 0 && o.factor < 1)) throw new ParameterError('lr factor', 'a number in (0, 1)', o.factor);
    if (!(Number.isInteger(o.patience) && o.patience >= 1)) {
      throw new ParameterError('patience', 'an integer ≥ 1', o.patience);
    }
    if (!(o.minDelta >= 0)) throw new ParameterError('min delta', 'a number ≥ 0', o.minDelta);
    if (!(o.minLr >= 0)) throw new ParameterError('min lr', 'a number ≥ 0', o.minLr);
    this.o = o;
  }

  /** Takes one validation's monitored value and the current rate; returns the rate to use from now on. */
  step(monitored: number, lr: number): number {
    const s = this.state;
    if (s.cooldownCounter > 0) {
      s.cooldownCounter -= 1;
      s.wait = 0;
    }
    if (monitored < s.best - this.o.minDelta) {
      s.best = monitored;
      s.wait = 0;
      return lr;
    }
    if (s.cooldownCounter > 0) return lr;
    s.wait += 1;
    if (s.wait < this.o.patience || !(lr > this.o.minLr)) return lr;
    s.cooldownCounter = this.o.cooldown;
    s.wait = 0;
    return Math.max(lr * this.o.factor, this.o.minLr);
  }
}
