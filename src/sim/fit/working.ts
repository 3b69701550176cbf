// The robust fit on large grids (1024², 2048² cameras): its coarse search runs on a crop of at most
// WORKING_SIZE_PX per side, the most strongly modulated block of the cycle, so that its cost stays
// fixed; the pattern vector's precision and the phase come from the refinement on the whole grid
// (robust.ts robustSearchLarge), which costs a few transforms of the grid, i.e. grows as N² log N.
// Why not the whole grid for the coarse map: its samples are 0.5 dk apart, and dk shrinks as 1/N,
// so a window of fixed size in cycles/µm holds N² candidates (each a DFT over the grid): the coarse
// map alone grew as N³, and its overlaps needed every band of the grid twice (apodized or not).
// Grids of at most WORKING_SIZE_PX per side are fitted as before, unchanged.
import { frequencySteps, type ImageGrid } from '../grid.js';
import { COARSE_STEP_DK, gridsFor, type PolarRegion, type SearchWindow, sectorBox, sectors } from './window.js';

/** Largest side (pixels) fitted whole; larger grids are searched on a crop of this size. */
export const WORKING_SIZE_PX = 512;

/** The working crop's size for a grid: the grid itself when it fits, else at most `size` per side. */
export function workingSize(g: ImageGrid, size = WORKING_SIZE_PX): { height: number; width: number } | null {
  if (g.height <= size && g.width <= size) return null;
  // Even sizes, as the transforms and the noise block (phase-noise.ts) prefer.
  const side = (n: number) => (n <= size ? n : size - (size % 2));
  return { height: side(g.height), width: side(g.width) };
}

/**
 * Half-width (in frequency steps dk of the whole grid) of the full-grid search at 0.5 dk around
 * the crop's best coarse sample: that sample lies within ~0.35 of the crop's steps of the crop's
 * maximum (robust.ts POLISH), i.e. (grid/crop) times that in the grid's steps, and the grid's
 * |modamp| has side lobes ~1.4 dk out, so the search spans ±0.75 crop steps before the fine
 * refinement climbs. Capped at 6 dk (25 × 25 samples) so that its cost, a DFT over the grid per
 * row of samples, stays a fixed multiple of N² beyond 4096² (a 2048² grid: ±3 dk, 13 × 13).
 */
export function lobeHalfWidthDk(g: ImageGrid, crop: { height: number; width: number }): number {
  const ratio = Math.max(g.height / crop.height, g.width / crop.width);
  return Math.min(6, Math.max(1.5, 0.75 * ratio));
}

/** Pixels per cell of the modulation map (chooseCrop): the crop's position is chosen to this step. */
const CELL_PX = 8;

/**
 * The crop [y0, y0 + h) × [x0, x0 + w) of the grid holding the most modulated power (power [H·W],
 * row-major: Σ over orientations of |Σ_j e^{ijφ}·D_j|², bands.ts separateBandsWithPower), on a
 * CELL_PX lattice; ties go to the crop nearest the centre. Sparse samples (a few cells in a
 * 2048² field) are searched where they are, not in an empty centre.
 */
export function chooseCrop(
  power: Float32Array | Float64Array,
  H: number,
  W: number,
  h: number,
  w: number,
): { y0: number; x0: number } {
  const rows = Math.floor(H / CELL_PX);
  const cols = Math.floor(W / CELL_PX);
  // Summed-area table of the cells (float64: the sums reach ~1e12 and more).
  const sat = new Float64Array((rows + 1) * (cols + 1));
  for (let r = 0; r < rows; r++) {
    const cellRow = new Float64Array(cols);
    for (let y = r * CELL_PX; y < (r + 1) * CELL_PX; y++) {
      const base = y * W;
      for (let c = 0; c < cols; c++) {
        let s = 0;
        for (let x = c * CELL_PX, e = x + CELL_PX; x < e; x++) s += power[base + x] as number;
        cellRow[c] = (cellRow[c] as number) + s;
      }
    }
    let run = 0;
    for (let c = 0; c < cols; c++) {
      run += cellRow[c] as number;
      sat[(r + 1) * (cols + 1) + c + 1] = (sat[r * (cols + 1) + c + 1] as number) + run;
    }
  }
  const hc = Math.floor(h / CELL_PX);
  const wc = Math.floor(w / CELL_PX);
  const at = (r: number, c: number) => sat[r * (cols + 1) + c] as number;
  let best = { y0: Math.floor((H - h) / 2), x0: Math.floor((W - w) / 2) };
  let bestScore = Number.NEGATIVE_INFINITY;
  let bestDistance = Number.POSITIVE_INFINITY;
  const lastR = Math.floor((H - h) / CELL_PX);
  const lastC = Math.floor((W - w) / CELL_PX);
  for (let r = 0; r <= lastR; r++) {
    for (let c = 0; c <= lastC; c++) {
      const score = at(r + hc, c + wc) - at(r, c + wc) - at(r + hc, c) + at(r, c);
      const y0 = r * CELL_PX;
      const x0 = c * CELL_PX;
      const distance = Math.hypot(y0 + h / 2 - H / 2, x0 + w / 2 - W / 2);
      if (score > bestScore || (score === bestScore && distance < bestDistance)) {
        best = { y0, x0 };
        bestScore = score;
        bestDistance = distance;
      }
    }
  }
  return best;
}

/** What a robust fit evaluates on a grid (robust.ts), for tests and benchmarks that pin its scaling. */
export interface FitPlan {
  /** The grid the coarse search runs on (the crop for large grids). */
  coarseGrid: { height: number; width: number };
  /** Coarse |modamp| samples, all orientations together. */
  coarseSamples: number;
  /** Half-width of the full-grid search around the crop's best sample, dk (0 when the grid is fitted whole). */
  lobeHalfWidthDk: number;
  /** Full-grid lobe-search samples, all orientations together (0 when the grid is fitted whole). */
  lobeSamples: number;
}

/** The robust fit's plan for a grid: start angles and |k0| (cycles/µm), its window and working size. */
export function fitPlan(
  g: ImageGrid,
  startAnglesRad: readonly number[],
  magnitudePerUm: number,
  window: SearchWindow,
  size = WORKING_SIZE_PX,
): FitPlan {
  const crop = workingSize(g, size);
  const coarseGrid = crop ?? { height: g.height, width: g.width };
  const cg: ImageGrid = { ...coarseGrid, pixelSizeUm: g.pixelSizeUm };
  const { dkx, dky } = frequencySteps(cg);
  const sx = COARSE_STEP_DK * dkx;
  const sy = COARSE_STEP_DK * dky;
  const boxes = startAnglesRad.flatMap((a) => {
    const r: PolarRegion = { centreRad: a, magnitudePerUm, window };
    const { centres, halfWidthRad } = sectors(r);
    return centres.map((c) => sectorBox(c, halfWidthRad, r, sx, sy));
  });
  const grids = gridsFor(boxes, sx, sy);
  const coarseSamples = grids.reduce((s, k) => s + k.nx * k.ny, 0);
  if (crop === null) return { coarseGrid, coarseSamples, lobeHalfWidthDk: 0, lobeSamples: 0 };
  const half = lobeHalfWidthDk(g, crop);
  const n = lobeSide(half);
  return { coarseGrid, coarseSamples, lobeHalfWidthDk: half, lobeSamples: startAnglesRad.length * n * n };
}

/** Samples per side of the lobe search: 0.5 dk apart over ± halfWidthDk. */
export function lobeSide(halfWidthDk: number): number {
  return 2 * Math.ceil(halfWidthDk / COARSE_STEP_DK) + 1;
}
