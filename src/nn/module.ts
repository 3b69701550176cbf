// A small module system: parameters and child modules registered by name, so that every
// parameter has a dotted path ("groups.0.blocks.1.conv1.weight") for state dicts, checkpoints
// and weight import. Parameters are keep()-ed: they outlive every tidy() scope and are freed by
// dispose().
import { keep, noGrad, type Tensor } from '../engine/index.js';
import { ShapeError } from '../errors.js';

export type StateDict = Record<string, Tensor>;

export abstract class Module {
  #params = new Map<string, Tensor>();
  #children = new Map<string, Module>();
  #training = true;

  /** Registers a trainable parameter (takes ownership: keeps it and turns on its gradient). */
  protected param(name: string, value: Tensor): Tensor {
    if (this.#params.has(name) || this.#children.has(name)) throw new Error(`duplicate member name ${name}`);
    this.#params.set(name, keep(value).requiresGrad_());
    return value;
  }

  /** Registers a child module under a name. */
  protected child<M extends Module>(name: string, m: M): M {
    if (this.#params.has(name) || this.#children.has(name)) throw new Error(`duplicate member name ${name}`);
    this.#children.set(name, m);
    return m;
  }

  /** Registers a list of child modules as name.0, name.1, … */
  protected children<M extends Module>(name: string, ms: M[]): M[] {
    const list = new ModuleList(ms);
    this.child(name, list);
    return ms;
  }

  /** Every parameter with its dotted path, in registration order. */
  namedParameters(prefix = ''): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    for (const [n, p] of this.#params) out.push([prefix + n, p]);
    for (const [n, c] of this.#children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Number of trainable scalars (Keras' "trainable params"). */
  parameterCount(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** The parameters by dotted path (the tensors themselves, not copies). */
  stateDict(): StateDict {
    return Object.fromEntries(this.namedParameters());
  }

  /**
   * Copies values into the parameters. Every parameter must be present with its shape; extra
   * entries are an error too, so that a checkpoint of another architecture cannot half-load.
   */
  loadStateDict(sd: StateDict, source = 'state dict'): void {
    const own = this.namedParameters();
    const missing = own.filter(([n]) => !(n in sd)).map(([n]) => n);
    const names = new Set(own.map(([n]) => n));
    const extra = Object.keys(sd).filter((n) => !names.has(n));
    if (missing.length > 0 || extra.length > 0) {
      throw new ShapeError(
        `${source} does not fit ${this.constructor.name}: ` +
          [missing.length > 0 ? `missing ${list(missing)}` : '', extra.length > 0 ? `unexpected ${list(extra)}` : '']
            .filter(Boolean)
            .join('; '),
      );
    }
    const wrong = own.filter(([n, p]) => !sameShape(p.shape, (sd[n] as Tensor).shape));
    if (wrong.length > 0) {
      throw new ShapeError(
        `${source} does not fit ${this.constructor.name}: ` +
          wrong.map(([n, p]) => `${n} expected [${p.shape}], found [${(sd[n] as Tensor).shape}]`).join('; '),
      );
    }
    noGrad(() => {
      for (const [n, p] of own) {
        const src = sd[n] as Tensor;
        p.copy_(src.dtype === p.dtype && src.device === p.device ? src : src.to({ dtype: p.dtype, device: p.device }));
      }
    });
  }

  get training(): boolean {
    return this.#training;
  }

  /** Training mode (the default) or evaluation mode, recursively. */
  train(on = true): this {
    this.#training = on;
    for (const c of this.#children.values()) c.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's accumulated gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.clearGrad();
  }

  /** Frees every parameter; the module is unusable afterwards. */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
  }
}

/** A list of modules registered as 0, 1, 2, … (for repeated blocks). */
export class ModuleList<M extends Module> extends Module {
  readonly items: readonly M[];
  constructor(items: M[]) {
    super();
    this.items = items;
    items.forEach((m, i) => {
      this.child(String(i), m);
    });
  }
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function list(names: string[]): string {
  return names.length > 6 ? `${names.slice(0, 6).join(', ')} … (${names.length} in all)` : names.join(', ');
}
