// Adam / AdamW over a list of parameter tensors, one fused native update per step.
import { ParameterError } from '../errors.js';
import { zerosLike } from './create.js';
import { native } from './native.js';
import { keep } from './scope.js';
import type { Tensor } from './tensor.js';

export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** AdamW: weight decay applied to the weights directly instead of added to the gradient. */
  decoupled?: boolean;
  /**
   * Where eps enters: 'pytorch' divides by (√v̂ + eps); 'keras' by (√v + eps) before the bias
   * correction, as Keras 2's Adam (with which the reference trains).
   */
  epsStyle?: 'pytorch' | 'keras';
}

/** Optimizer state as named tensors plus numbers (for safetensors + JSON checkpoints). */
export interface AdamState {
  step: number;
  lr: number;
  tensors: Record<string, Tensor>;
}

export class Adam {
  readonly params: readonly Tensor[];
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly decoupled: boolean;
  readonly epsStyle: 'pytorch' | 'keras';
  #step = 0;
  #m: Tensor[];
  #v: Tensor[];

  constructor(params: readonly Tensor[], o: AdamOptions = {}) {
    this.params = params;
    this.lr = o.lr ?? 1e-3;
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0;
    this.decoupled = o.decoupled ?? false;
    this.epsStyle = o.epsStyle ?? 'pytorch';
    for (const [name, v] of [
      ['lr', this.lr],
      ['eps', this.eps],
      ['weightDecay', this.weightDecay],
    ] as const) {
      if (!(v >= 0) || !Number.isFinite(v)) throw new ParameterError(`Adam ${name}`, 'a finite number ≥ 0', v);
    }
    for (const [name, v] of [
      ['beta1', this.beta1],
      ['beta2', this.beta2],
    ] as const) {
      if (!(v >= 0 && v < 1)) throw new ParameterError(`Adam ${name}`, 'a number in [0, 1)', v);
    }
    this.#m = params.map((p) => keep(zerosLike(p)));
    this.#v = params.map((p) => keep(zerosLike(p)));
  }

  get stepCount(): number {
    return this.#step;
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    this.#step += 1;
    native().adamStep(
      this.params.map((p) => p.handle),
      this.#m.map((t) => t.handle),
      this.#v.map((t) => t.handle),
      this.#step,
      this.lr,
      this.beta1,
      this.beta2,
      this.eps,
      this.weightDecay,
      this.decoupled,
      this.epsStyle === 'keras',
    );
  }

  /** Forgets every parameter's accumulated gradient (call before each backward()). */
  zeroGrad(): void {
    for (const p of this.params) p.clearGrad();
  }

  /** The state; its tensors are the optimizer's own (do not dispose them). */
  state(): AdamState {
    const tensors: Record<string, Tensor> = {};
    this.#m.forEach((t, i) => {
      tensors[`exp_avg.${i}`] = t;
    });
    this.#v.forEach((t, i) => {
      tensors[`exp_avg_sq.${i}`] = t;
    });
    return { step: this.#step, lr: this.lr, tensors };
  }

  /** Restores a state from state() (copied in; shapes must match the parameters). */
  loadState(s: AdamState): void {
    if (!Number.isInteger(s.step) || s.step < 0) throw new ParameterError('Adam state step', 'an integer ≥ 0', s.step);
    this.params.forEach((p, i) => {
      for (const [key, own] of [
        [`exp_avg.${i}`, this.#m[i]],
        [`exp_avg_sq.${i}`, this.#v[i]],
      ] as const) {
        const t = s.tensors[key];
        if (t === undefined) throw new ParameterError(`Adam state ${key}`, 'a tensor', undefined);
        if (t.shape.join() !== p.shape.join()) {
          throw new ParameterError(`Adam state ${key}`, `shape [${p.shape}]`, `[${t.shape}]`);
        }
        (own as Tensor).copy_(t);
      }
    });
    this.#step = s.step;
    this.lr = s.lr;
  }

  dispose(): void {
    for (const t of [...this.#m, ...this.#v]) t.dispose();
  }
}
