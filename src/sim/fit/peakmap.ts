// |modamp| on grids of candidate pattern vectors by a direct DFT. With the overlaps built once for a
// vector k (ModampEvaluator.crossProducts), modamp at a nearby k' is Σ_r cross(r)·e^{iψ(k')(r)}/den
// (ψ as in overlap.ts, origin at pixel (H/2, W/2)): the reference's value at k' except that the OTF
// weights stay those of k. ψ is separable, so a whole grid kx × ky costs two matrix products
// (Ey·cross·Ex) instead of two inverse FFTs per candidate.
import { complex, type Device, type DType, type Tensor, tensor, tidy } from '../../engine/index.js';
import type { ImageGrid } from '../grid.js';
import type { Modamp } from './search.js';
import type { KGrid } from './window.js';

/**
 * |modamp| on each grid: cross [b, H, W] complex, den [b] real, one grid per batch entry (all of
 * the same nx, ny). Returns per grid a Float64Array [ny·nx], index j·nx + i ↔ (kx_i, ky_j).
 */
export function modampOnGrids(cross: Tensor, den: Tensor, grids: readonly KGrid[], g: ImageGrid): Float64Array[] {
  const b = grids.length;
  if (b === 0) return [];
  const { nx, ny } = grids[0] as KGrid;
  const real = cross.dtype === 'complex128' ? 'float64' : 'float32';
  const flat = tidy(() => {
    const { ex, ey } = rampFactors(grids, g, { dtype: real, device: cross.device });
    return ey
      .matmul(cross.matmul(ex))
      .abs()
      .div(den.reshape([b, 1, 1]))
      .to('float64')
      .toArray() as Float64Array;
  });
  return grids.map((_, s) => flat.slice(s * nx * ny, (s + 1) * nx * ny));
}

/**
 * The separable phase ramp e^{iψ} on each grid (one per batch entry, all of the same nx, ny):
 * ex = e^{i2π(x − W/2)·dx·kx_i} [b, x, nx] and ey = e^{i2π(y − H/2)·dx·ky_j} [b, ny, y]. Created in
 * the caller's scope.
 */
function rampFactors(
  grids: readonly KGrid[],
  g: ImageGrid,
  opts: { dtype: DType; device: Device },
): { ex: Tensor; ey: Tensor } {
  const b = grids.length;
  const { nx, ny } = grids[0] as KGrid;
  const h = g.height;
  const w = g.width;
  const Arr = opts.dtype === 'float64' ? Float64Array : Float32Array;
  const exRe = new Arr(b * w * nx);
  const exIm = new Arr(b * w * nx);
  const eyRe = new Arr(b * ny * h);
  const eyIm = new Arr(b * ny * h);
  const dx = g.pixelSizeUm;
  for (let s = 0; s < b; s++) {
    const k = grids[s] as KGrid;
    for (let x = 0; x < w; x++) {
      const base = (s * w + x) * nx;
      rotations(2 * Math.PI * (x - w / 2) * dx, k.x0, k.sx, nx, (i, c, si) => {
        exRe[base + i] = c;
        exIm[base + i] = si;
      });
    }
    for (let y = 0; y < h; y++) {
      const at = (j: number) => (s * ny + j) * h + y;
      rotations(2 * Math.PI * (y - h / 2) * dx, k.y0, k.sy, ny, (j, c, si) => {
        eyRe[at(j)] = c;
        eyIm[at(j)] = si;
      });
    }
  }
  return tidy(() => ({
    ex: complex(tensor(exRe, [b, w, nx], opts), tensor(exIm, [b, w, nx], opts)),
    ey: complex(tensor(eyRe, [b, ny, h], opts), tensor(eyIm, [b, ny, h], opts)),
  }));
}

/**
 * e^{i·f·(k0 + i·step)} for i < n, handed to out(i, cos, sin): the first value and the step's rotation
 * from their arguments in double (hundreds of radians at the image edge), the rest by complex
 * multiplication (4 trigonometric calls instead of 2n; rounding grows by ~1e-16 per step).
 */
function rotations(f: number, k0: number, step: number, n: number, out: (i: number, c: number, s: number) => void) {
  let c = Math.cos(f * k0);
  let s = Math.sin(f * k0);
  const dc = Math.cos(f * step);
  const ds = Math.sin(f * step);
  for (let i = 0; i < n; i++) {
    out(i, c, s);
    const next = c * dc - s * ds;
    s = s * dc + c * ds;
    c = next;
  }
}

/**
 * Σ cross·e^{iψ(k)}/den for one k per batch entry (ψ as in overlap.ts, origin at pixel (H/2, W/2)):
 * the modamp (or the phase correlation) at k from the cross products built for k or near it.
 */
export function modampAt(
  cross: Tensor,
  den: Tensor,
  ks: readonly { kx: number; ky: number }[],
  g: ImageGrid,
): Modamp[] {
  const real = cross.dtype === 'complex128' ? 'float64' : 'float32';
  const out = tidy(() => {
    // A 1 × 1 grid per entry.
    const grids = ks.map((k) => ({ x0: k.kx, y0: k.ky, sx: 0, sy: 0, nx: 1, ny: 1 }));
    const { ex, ey } = rampFactors(grids, g, { dtype: real, device: cross.device });
    const num = ey.matmul(cross.matmul(ex)).reshape([ks.length]);
    return num.viewAsReal().div(den.unsqueeze(1)).to('float64').toArray();
  });
  return ks.map((_, i) => [out[2 * i] as number, out[2 * i + 1] as number]);
}

/** Index of the largest finite value, or −1. */
export function argmax(v: ArrayLike<number>): number {
  let best = -1;
  let bv = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    if (x > bv) {
      bv = x;
      best = i;
    }
  }
  return best;
}

/**
 * Vertex of the least-squares quadratic through the 3×3 samples v (row-major, rows = y) at unit
 * spacing around the centre sample, in sample units (dx, dy); null when the quadratic has no
 * maximum or its vertex lies more than one sample away (then the centre sample is the answer).
 */
export function quadraticPeak3x3(v: ArrayLike<number>): { dx: number; dy: number } | null {
  // f = c + bx·x + by·y + axx·x² + ayy·y² + axy·x·y on x, y ∈ {−1, 0, 1}: the closed-form LS fit.
  let bx = 0;
  let by = 0;
  let axy = 0;
  let sxx = 0;
  let syy = 0;
  let s = 0;
  for (let j = -1; j <= 1; j++) {
    for (let i = -1; i <= 1; i++) {
      const f = v[(j + 1) * 3 + (i + 1)] as number;
      bx += i * f;
      by += j * f;
      axy += i * j * f;
      sxx += i * i * f;
      syy += j * j * f;
      s += f;
    }
  }
  bx /= 6;
  by /= 6;
  axy /= 4;
  // Normal equations of c, axx, ayy use Σ1 = 9, Σx² = Σx⁴ = 6, Σx²y² = 4 over the 9 points.
  const axx = (sxx - (2 / 3) * s) / 2;
  const ayy = (syy - (2 / 3) * s) / 2;
  // Maximum: Hessian [[2axx, axy], [axy, 2ayy]] negative definite.
  const det = 4 * axx * ayy - axy * axy;
  if (!(axx < 0 && det > 0)) return null;
  const dx = (-2 * ayy * bx + axy * by) / det;
  const dy = (-2 * axx * by + axy * bx) / det;
  if (!(Math.abs(dx) <= 1 && Math.abs(dy) <= 1)) return null;
  return { dx, dy };
}
