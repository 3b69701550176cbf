// A light-sheet (lattice light-sheet) time-lapse simulator: 3-D structures (tubules, vesicles,
// membranes) moving slowly between time points, imaged through an anisotropic Gaussian PSF (the
// axial width larger than the lateral one, as a light sheet's), then Poisson photon noise, Gaussian
// read noise and the camera offset. The clean volumes (expected photons, before noise and offset)
// are returned beside the noisy ones, so that denoisers can be scored against the truth.
// Arrays are row-major [t][z][y][x]; sizes and widths in voxels.
import { ParameterError } from '../../errors.js';
import { Rng } from '../simulate/random.js';

export const LIGHTSHEET_STRUCTURES = ['tubules', 'vesicles', 'membranes', 'mixed'] as const;
export type LightsheetStructure = (typeof LIGHTSHEET_STRUCTURES)[number];

export interface LightsheetOptions {
  /** Volume size in voxels. */
  depth: number;
  height: number;
  width: number;
  /** Time points. */
  frames: number;
  structure: LightsheetStructure;
  /** Expected photons at the structures' brightest voxels (the 99.9th percentile of the clean volume). */
  photons: number;
  /** Camera read noise, electrons rms. */
  readNoise: number;
  /** Camera offset added to every voxel (counts). */
  offset: number;
  /** PSF standard deviations, voxels: lateral (y, x) and axial (z). */
  sigmaXY: number;
  sigmaZ: number;
  /** Largest drift of a structure between two time points, voxels. */
  speed: number;
  seed: number;
}

export const LIGHTSHEET_DEFAULTS: LightsheetOptions = {
  depth: 32,
  height: 128,
  width: 128,
  frames: 1,
  structure: 'mixed',
  photons: 20,
  readNoise: 1.5,
  offset: 100,
  sigmaXY: 1.0,
  sigmaZ: 1.8,
  speed: 0.3,
  seed: 1,
};

export interface LightsheetResult {
  /** [t][z][y][x] uint16 counts: photons + read noise + offset. */
  noisy: Uint16Array;
  /** [t][z][y][x] expected photons (no noise, no offset). */
  clean: Float32Array;
}

/** A structure: fixed points (voxels) with weights, and a drift velocity (voxels per time point). */
interface Cloud {
  points: Float32Array; // z, y, x, weight
  velocity: [number, number, number];
}

export function simulateLightsheet(opts: Partial<LightsheetOptions> = {}): LightsheetResult {
  const o = { ...LIGHTSHEET_DEFAULTS, ...opts };
  for (const k of ['depth', 'height', 'width', 'frames'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new ParameterError(k, 'a positive integer', o[k]);
  }
  if (!LIGHTSHEET_STRUCTURES.includes(o.structure)) {
    throw new ParameterError('structure', LIGHTSHEET_STRUCTURES.join(' | '), o.structure);
  }
  if (!(o.photons > 0)) throw new ParameterError('photons', 'a positive number', o.photons);
  const rng = new Rng(o.seed);
  const clouds = makeClouds(o, rng);
  const n = o.depth * o.height * o.width;
  const clean = new Float32Array(n * o.frames);
  for (let t = 0; t < o.frames; t++) {
    const v = clean.subarray(t * n, (t + 1) * n);
    for (const c of clouds) splat(v, o, c, t);
    blur3d(v, o.depth, o.height, o.width, o.sigmaZ, o.sigmaXY);
  }
  // Brightness: the 99.9th percentile of the first time point becomes `photons`, plus a dim haze.
  const s = o.photons / Math.max(1e-12, percentile(clean.subarray(0, n), 0.999));
  for (let i = 0; i < clean.length; i++) clean[i] = (clean[i] as number) * s + 0.02 * o.photons;
  const noisy = new Uint16Array(clean.length);
  for (let i = 0; i < clean.length; i++) {
    const e = poisson(clean[i] as number, rng) + o.readNoise * rng.normal() + o.offset;
    noisy[i] = Math.max(0, Math.min(65535, Math.round(e)));
  }
  return { noisy, clean };
}

function makeClouds(o: LightsheetOptions, rng: Rng): Cloud[] {
  const { depth: Z, height: H, width: W } = o;
  const kinds: Exclude<LightsheetStructure, 'mixed'>[] =
    o.structure === 'mixed' ? ['tubules', 'vesicles', 'membranes'] : [o.structure];
  const volume = (Z * H * W) / (32 * 128 * 128);
  const out: Cloud[] = [];
  const velocity = (): [number, number, number] => {
    const a = rng.uniform(0, 2 * Math.PI);
    const sp = o.speed * rng.uniform(0.3, 1);
    return [sp * 0.3 * rng.uniform(-1, 1), sp * Math.sin(a), sp * Math.cos(a)];
  };
  for (const kind of kinds) {
    if (kind === 'tubules') {
      const count = Math.max(2, Math.round(14 * volume));
      for (let i = 0; i < count; i++) {
        const pts: number[] = [];
        let p = [rng.uniform(0, Z), rng.uniform(0, H), rng.uniform(0, W)];
        let th = rng.uniform(0, 2 * Math.PI);
        let ph = rng.uniform(-0.3, 0.3);
        const len = rng.uniform(0.5, 1.5) * Math.max(H, W);
        for (let s = 0; s < len; s += 0.5) {
          pts.push(p[0]!, p[1]!, p[2]!, 1);
          th += 0.06 * rng.normal();
          ph = Math.max(-0.5, Math.min(0.5, ph + 0.04 * rng.normal()));
          p = [
            p[0]! + 0.5 * Math.sin(ph),
            p[1]! + 0.5 * Math.cos(ph) * Math.sin(th),
            p[2]! + 0.5 * Math.cos(ph) * Math.cos(th),
          ];
        }
        out.push({ points: Float32Array.from(pts), velocity: velocity() });
      }
    } else if (kind === 'vesicles') {
      const count = Math.max(3, Math.round(30 * volume));
      for (let i = 0; i < count; i++) {
        const r = rng.uniform(1.5, 3.5);
        const c = [rng.uniform(0, Z), rng.uniform(0, H), rng.uniform(0, W)];
        const m = Math.ceil(12 * r * r);
        const pts: number[] = [];
        for (let k = 0; k < m; k++) {
          const u = rng.uniform(-1, 1);
          const a = rng.uniform(0, 2 * Math.PI);
          const q = Math.sqrt(1 - u * u);
          pts.push(c[0]! + r * u, c[1]! + r * q * Math.sin(a), c[2]! + r * q * Math.cos(a), 0.6);
        }
        out.push({ points: Float32Array.from(pts), velocity: velocity() });
      }
    } else {
      // A gently curved sheet across the volume, tilted in z, sampled every 0.7 voxel.
      const count = Math.max(1, Math.round(2 * volume));
      for (let i = 0; i < count; i++) {
        const z0 = rng.uniform(0.25, 0.75) * Z;
        const ky = rng.uniform(0.02, 0.06);
        const kx = rng.uniform(0.02, 0.06);
        const amp = rng.uniform(0.1, 0.25) * Z;
        const pts: number[] = [];
        for (let y = 0; y < H; y += 0.7) {
          for (let x = 0; x < W; x += 0.7) {
            pts.push(z0 + amp * Math.sin(ky * y + i) * Math.cos(kx * x), y, x, 0.25);
          }
        }
        out.push({ points: Float32Array.from(pts), velocity: velocity() });
      }
    }
  }
  return out;
}

/** Adds a cloud's points at time t to v with trilinear weights. */
function splat(v: Float32Array, o: LightsheetOptions, c: Cloud, t: number): void {
  const { depth: Z, height: H, width: W } = o;
  const [vz, vy, vx] = c.velocity;
  const p = c.points;
  for (let i = 0; i < p.length; i += 4) {
    const z = (p[i] as number) + vz * t;
    const y = (p[i + 1] as number) + vy * t;
    const x = (p[i + 2] as number) + vx * t;
    const w = p[i + 3] as number;
    const z0 = Math.floor(z);
    const y0 = Math.floor(y);
    const x0 = Math.floor(x);
    for (let dz = 0; dz < 2; dz++) {
      const zz = z0 + dz;
      if (zz < 0 || zz >= Z) continue;
      const wz = dz ? z - z0 : 1 - (z - z0);
      for (let dy = 0; dy < 2; dy++) {
        const yy = y0 + dy;
        if (yy < 0 || yy >= H) continue;
        const wy = dy ? y - y0 : 1 - (y - y0);
        for (let dx = 0; dx < 2; dx++) {
          const xx = x0 + dx;
          if (xx < 0 || xx >= W) continue;
          const wx = dx ? x - x0 : 1 - (x - x0);
          v[(zz * H + yy) * W + xx] = (v[(zz * H + yy) * W + xx] as number) + w * wz * wy * wx;
        }
      }
    }
  }
}

function gaussianKernel(sigma: number): Float32Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp(-0.5 * (i / sigma) ** 2);
  for (let i = 0; i < k.length; i++) k[i] = (k[i] as number) / s;
  return k;
}

/** In-place separable Gaussian blur of a [z][y][x] volume (edges clamped). σ 0 leaves an axis alone. */
export function blur3d(v: Float32Array, Z: number, H: number, W: number, sigmaZ: number, sigmaXY: number): void {
  const pass = (n: number, stride: number, count: number, base: (j: number) => number, sigma: number) => {
    if (sigma <= 0) return;
    const k = gaussianKernel(sigma);
    const r = (k.length - 1) / 2;
    const line = new Float32Array(n);
    for (let j = 0; j < count; j++) {
      const b = base(j);
      for (let i = 0; i < n; i++) line[i] = v[b + i * stride] as number;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let q = -r; q <= r; q++) s += (k[q + r] as number) * (line[Math.min(n - 1, Math.max(0, i + q))] as number);
        v[b + i * stride] = s;
      }
    }
  };
  pass(W, 1, Z * H, (j) => j * W, sigmaXY);
  pass(H, W, Z * W, (j) => Math.floor(j / W) * H * W + (j % W), sigmaXY);
  pass(Z, H * W, H * W, (j) => j, sigmaZ);
}

function percentile(a: Float32Array, q: number): number {
  const step = Math.max(1, Math.floor(a.length / 200_000));
  const s: number[] = [];
  for (let i = 0; i < a.length; i += step) s.push(a[i] as number);
  s.sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

/** A Poisson draw: Knuth's product below 30, a rounded normal above. */
function poisson(lambda: number, rng: Rng): number {
  if (lambda <= 0) return 0;
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * rng.normal()));
  const l = Math.exp(-lambda);
  let k = 0;
  let p = rng.next();
  while (p > l) {
    k++;
    p *= rng.next();
  }
  return k;
}
