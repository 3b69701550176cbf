// The neighbourhood the robust fit searches around an expected pattern vector, and the Cartesian
// sample grids that cover it. Why a window and not the whole plane: on MT.mrc the pattern sits in
// the far tail of the OTF, and a search over every frequency locks onto noise; why not a hill
// climb from the preset: |modamp| has side lobes ~1/(|k0|·N·dx) rad apart (≈ 0.011 rad for 256²),
// so a walk from a preset 0.02 rad off stops on one.
import { ParameterError } from '../../errors.js';

export interface SearchWindow {
  /** Half-width in angle around the start angle, rad (0.1). π or more searches every angle. */
  angleRad: number;
  /** Half-width in |k0| as a fraction of the expected magnitude (0.05 = ±5% in line spacing, to first order). */
  magnitudeFraction: number;
}

export const DEFAULT_WINDOW: SearchWindow = { angleRad: 0.1, magnitudeFraction: 0.05 };

/**
 * Largest half-width of one sector, rad: overlap weights are frozen per sector, and beyond ~0.1 rad
 * (≈ 9 px of shift at 256²) the frozen weights stop matching the shifted OTF supports.
 */
export const SECTOR_HALF_WIDTH_RAD = 0.1;

/** Coarse sampling step, in units of the frequency step dk: the main lobe is ~2 dk wide, so 0.5 dk keeps ≥ 80% of its height. */
export const COARSE_STEP_DK = 0.5;

export function checkWindow(w: SearchWindow): SearchWindow {
  if (!(Number.isFinite(w.angleRad) && w.angleRad > 0)) {
    throw new ParameterError('search angle (rad)', 'a finite number > 0', w.angleRad);
  }
  if (!(Number.isFinite(w.magnitudeFraction) && w.magnitudeFraction > 0 && w.magnitudeFraction < 0.5)) {
    throw new ParameterError('search spacing fraction', 'a number in (0, 0.5)', w.magnitudeFraction);
  }
  return w;
}

/** Wrapped angle difference a − b in (−π, π], rad. */
export function angleDiff(a: number, b: number): number {
  return Math.atan2(Math.sin(a - b), Math.cos(a - b));
}

/** The polar region of one orientation: centre angle (rad), expected |k0| (cycles/µm), window. */
export interface PolarRegion {
  centreRad: number;
  magnitudePerUm: number;
  window: SearchWindow;
}

export function inRegion(r: PolarRegion, kx: number, ky: number): boolean {
  const mag = Math.hypot(kx, ky);
  const f = r.window.magnitudeFraction;
  if (!(mag >= r.magnitudePerUm * (1 - f) && mag <= r.magnitudePerUm * (1 + f))) return false;
  return r.window.angleRad >= Math.PI || Math.abs(angleDiff(Math.atan2(ky, kx), r.centreRad)) <= r.window.angleRad;
}

/** Angular sectors of half-width ≤ SECTOR_HALF_WIDTH_RAD tiling the region: their centre angles and half-width. */
export function sectors(r: PolarRegion): { centres: number[]; halfWidthRad: number } {
  const a = Math.min(r.window.angleRad, Math.PI);
  const n = Math.ceil(a / SECTOR_HALF_WIDTH_RAD - 1e-9);
  const half = a / n;
  const centres = Array.from({ length: n }, (_, i) => r.centreRad - a + (2 * i + 1) * half);
  return { centres, halfWidthRad: half };
}

/** A Cartesian sample grid: kx = x0 + i·sx (i < nx), ky = y0 + j·sy (j < ny), cycles/µm. */
export interface KGrid {
  x0: number;
  y0: number;
  sx: number;
  sy: number;
  nx: number;
  ny: number;
}

/**
 * The bounding box of the annular sector (angles centre ± half, magnitudes L(1 ± f)), sampled at
 * steps (sx, sy) with one extra sample beyond every side (so a peak on the window's border can be
 * told from a peak inside it).
 */
export function sectorBox(
  centreRad: number,
  halfRad: number,
  r: PolarRegion,
  sx: number,
  sy: number,
): { xMin: number; xMax: number; yMin: number; yMax: number } {
  const lo = r.magnitudePerUm * (1 - r.window.magnitudeFraction);
  const hi = r.magnitudePerUm * (1 + r.window.magnitudeFraction);
  const angles = [centreRad - halfRad, centreRad + halfRad];
  // The extremes of x and y on an arc also occur where the arc crosses an axis direction.
  for (let q = -4; q <= 4; q++) {
    const t = (q * Math.PI) / 2;
    if (Math.abs(angleDiff(t, centreRad)) <= halfRad) angles.push(t);
  }
  const xs: number[] = [];
  const ys: number[] = [];
  for (const t of angles) {
    for (const m of [lo, hi]) {
      xs.push(m * Math.cos(t));
      ys.push(m * Math.sin(t));
    }
  }
  return {
    xMin: Math.min(...xs) - sx,
    xMax: Math.max(...xs) + sx,
    yMin: Math.min(...ys) - sy,
    yMax: Math.max(...ys) + sy,
  };
}

/** Grids of equal size (the largest box's sample counts) centred on each box, so they batch. */
export function gridsFor(
  boxes: { xMin: number; xMax: number; yMin: number; yMax: number }[],
  sx: number,
  sy: number,
): KGrid[] {
  const nx = Math.max(...boxes.map((b) => Math.ceil((b.xMax - b.xMin) / sx) + 1));
  const ny = Math.max(...boxes.map((b) => Math.ceil((b.yMax - b.yMin) / sy) + 1));
  return boxes.map((b) => ({
    x0: (b.xMin + b.xMax) / 2 - ((nx - 1) * sx) / 2,
    y0: (b.yMin + b.yMax) / 2 - ((ny - 1) * sy) / 2,
    sx,
    sy,
    nx,
    ny,
  }));
}

/** A square grid of n × n samples at step s (cycles/µm) centred on (kx, ky). */
export function gridAround(kx: number, ky: number, n: number, s: number): KGrid {
  const h = ((n - 1) * s) / 2;
  return { x0: kx - h, y0: ky - h, sx: s, sy: s, nx: n, ny: n };
}
