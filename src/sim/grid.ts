// The frequency grid of an image: steps, radii and the two orders of spectrum storage.
// "centred": index i along an axis of length n holds frequency (i − ⌊n/2⌋)·dk (after fftshift);
// "fft": libtorch's native order, index m holds fftfreq(n)[m]·n·dk (what fft2 returns). For even
// n these are the reference's two layouts; src/sim works in "fft" order internally to skip the
// shifts, and converts only where a caller asks for centred arrays.
import { ParameterError } from '../errors.js';

export interface ImageGrid {
  height: number;
  width: number;
  /** Pixel size, µm. */
  pixelSizeUm: number;
}

export type SpectrumOrder = 'centred' | 'fft';

/** Frequency steps, cycles/µm: dkx = 1/(width·dx), dky = 1/(height·dx), dkr = min of the two. */
export function frequencySteps(g: ImageGrid): { dkx: number; dky: number; dkr: number } {
  const dkx = 1 / (g.width * g.pixelSizeUm);
  const dky = 1 / (g.height * g.pixelSizeUm);
  return { dkx, dky, dkr: Math.min(dkx, dky) };
}

/** Frequencies (cycles/µm) along one axis of n samples with step dk, in the given order. */
export function axisFrequencies(n: number, dk: number, order: SpectrumOrder): Float64Array {
  const out = new Float64Array(n);
  const half = Math.floor(n / 2);
  for (let i = 0; i < n; i++) {
    // fft order: 0, 1, …, ⌈n/2⌉−1, −⌊n/2⌋, …, −1 (numpy's fftfreq); centred: −⌊n/2⌋ … ⌈n/2⌉−1.
    const m = order === 'centred' ? i - half : i < n - half ? i : i - n;
    out[i] = m * dk;
  }
  return out;
}

/** Names a grid (size and pixel size) for the tables derived from it. */
export function gridKey(g: ImageGrid): string {
  return `${g.height}×${g.width}@${g.pixelSizeUm}`;
}

/**
 * A one-entry memo: its function returns make()'s value, made again only when the key changes. For
 * tables derived from a grid, which a time-lapse needs unchanged for every cycle; the value is
 * shared, so callers must not modify it.
 */
export function keptWhileSame<T>(): (key: string, make: () => T) => T {
  let last: { key: string; value: T } | null = null;
  return (key, make) => {
    if (last?.key !== key) last = { key, value: make() };
    return last.value;
  };
}

/** The largest radius on the grid (the corner), cycles/µm. */
export function maxRadiusPerUm(g: ImageGrid): number {
  const { dkx, dky } = frequencySteps(g);
  return Math.hypot(Math.floor(g.width / 2) * dkx, Math.floor(g.height / 2) * dky);
}

export function checkGrid(g: ImageGrid, what = 'image'): void {
  if (!Number.isInteger(g.height) || !Number.isInteger(g.width) || g.height < 2 || g.width < 2) {
    throw new ParameterError(`${what} size`, 'at least 2×2 pixels', `${g.height}×${g.width}`);
  }
  if (!(g.pixelSizeUm > 0) || !Number.isFinite(g.pixelSizeUm)) {
    throw new ParameterError('pixel size (µm)', 'a finite number > 0', g.pixelSizeUm);
  }
}
