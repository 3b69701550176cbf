// Finite-difference gradient check in float64: autograd's gradient of
//   L(x₁…xₙ) = Σ f(x₁…xₙ) · R      (R a fixed random weight, so upstream gradients are not all 1)
// against central differences (L(x + εeᵢ) − L(x − εeᵢ)) / 2ε for every element of every input.
import assert from 'node:assert/strict';
import { noGrad, randn, type Tensor, tensor, tidy } from '../../src/engine/index.js';

export interface GradcheckInput {
  shape: number[];
  /** Values (default: seeded normal); keep them away from kinks (relu at 0, abs at 0…). */
  values?: Float64Array;
}

function weightedLoss(out: Tensor, weight: Tensor): Tensor {
  const real = out.isComplex ? out.viewAsReal() : out;
  return real.mul(weight).sum();
}

/** Checks d/dx of sum(f(xs)·R); f must return a float64 (or complex128) tensor. */
export function gradcheck(
  name: string,
  f: (...xs: Tensor[]) => Tensor,
  inputs: GradcheckInput[],
  eps = 1e-6,
  tol = 1e-6,
): void {
  const base = inputs.map(
    (inp, k) => inp.values ?? (randn(inp.shape, { seed: 100 + k, dtype: 'float64' }).toArray() as Float64Array),
  );
  tidy(() => {
    const xs = base.map((v, k) => tensor(v, inputs[k]!.shape).requiresGrad_());
    const out = f(...xs);
    const outShape = out.isComplex ? [...out.shape, 2] : out.shape;
    const weight = randn(outShape, { seed: 7, dtype: 'float64' });
    weightedLoss(out, weight).backward();
    const analytic = xs.map((x) => (x.grad === null ? null : (x.grad.toArray() as Float64Array)));

    const lossAt = (k: number, i: number, delta: number) =>
      noGrad(() =>
        tidy(() => {
          const moved = base.map((v, j) => {
            if (j !== k) return tensor(v, inputs[j]!.shape);
            const copy = Float64Array.from(v);
            copy[i] = (copy[i] as number) + delta;
            return tensor(copy, inputs[j]!.shape);
          });
          return weightedLoss(f(...moved), weight).item();
        }),
      );
    base.forEach((v, k) => {
      const g = analytic[k];
      assert.ok(g !== null && g !== undefined, `${name}: no gradient reached input ${k}`);
      for (let i = 0; i < v.length; i++) {
        const numeric = (lossAt(k, i, eps) - lossAt(k, i, -eps)) / (2 * eps);
        const a = g[i] as number;
        const err = Math.abs(a - numeric);
        assert.ok(
          err <= tol * Math.max(1, Math.abs(numeric)),
          `${name}: d/dx${k}[${i}] autograd ${a} vs finite difference ${numeric} (error ${err.toExponential(2)})`,
        );
      }
    });
  });
}

/** Float64 values in [lo, hi) from a seeded generator (for inputs that must avoid a domain). */
export function uniform(n: number, lo: number, hi: number, seed: number): Float64Array {
  let s = seed >>> 0 || 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return out;
}
