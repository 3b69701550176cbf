// The robust illumination fit (the default; `--fit reference` keeps the reference's hill climb):
//  1. coarse: |modamp| on a 0.5·dk grid over the whole search window (angle ± window.angleRad
//     around the start, |k0| ± window.magnitudeFraction), with the reference's overlap weights
//     frozen at each sector's centre, so only frequencies where both bands' OTF supports overlap
//     count; the global maximum is taken, not the nearest hill, so side lobes cannot capture it;
//  2. refinement and phase (phase.ts): the SNR-weighted correlation of band 0 with the shifted
//     band 1 is built at the best sample; k0 moves to the maximum of its magnitude (0.05 dk grid,
//     quadratic vertex; the joint maximum-likelihood estimate with the phase), and the reported
//     phase φ0 is −arg of that correlation there, NOT −arg(modamp) as in the reference fit. On
//     simulated 100-photon cycles it halves the phase error (256²: 1.1° → 0.44° rms, the
//     Cramér–Rao bound being ~0.48°) and the k0 error; on noise-free ones it is exact where
//     −arg(modamp) is off by up to 2.7°; on MT.mrc its noise is lower than −arg(modamp)'s; its
//     standard error from the cycle's own noise comes with it (phase-noise.ts);
//  3. final: the reference's own modamp at the final vector gives the reported modamp and the
//     modulation depth (its documented meaning, unchanged).
// The coarse map also gives the reliability figures (peak ratio, window edge); the phase's
// standard error is the last.
// Grids larger than the working size (working.ts) run steps 1 and 3 on a crop of the cycle, and
// step 2 on the whole grid after a search of the lobes around the crop's best sample
// (robustSearchLarge); smaller grids run all three on the whole grid (robustSearch).
import { type Tensor, tidy } from '../../engine/index.js';
import { frequencySteps, type ImageGrid } from '../grid.js';
import type { ModampEvaluator } from './overlap.js';
import { argmax, modampAt, modampOnGrids, quadraticPeak3x3 } from './peakmap.js';
import type { PhaseCorrelator } from './phase.js';
import { analyseCoarse, type CoarseSample, judge, type Reliability } from './reliability.js';
import type { Candidate, Modamp } from './search.js';
import {
  angleDiff,
  COARSE_STEP_DK,
  gridAround,
  gridsFor,
  inRegion,
  type KGrid,
  type PolarRegion,
  type SearchWindow,
  sectorBox,
  sectors,
} from './window.js';
import { lobeSide } from './working.js';

export interface RobustResult {
  angleRad: number;
  magnitudePerUm: number;
  /** The reference's modamp at the final vector. */
  modamp: Modamp;
  /** φ0 from the weighted correlation (phase.ts), rad, origin at pixel (H/2, W/2). */
  phaseRad: number;
  /** Overlap builds (pairs of inverse FFTs) for this orientation. */
  evaluations: number;
  degenerate: string | null;
  reliability: Reliability;
}

/** Sector jobs per batch: bounds memory (each holds two H×W complex overlaps and their product). */
const CHUNK = 8;
/**
 * Refinement grid: 7×7 at 0.05 dk, re-centred while its best sample is on the border (at most 8
 * times: 1.2 dk). The best coarse sample is within ~0.35 dk of the correlation's maximum
 * (simulated cycles at 100–10,000 photons with presets up to 0.05 rad off, 256²: median 0.19 dk),
 * so one grid or two usually reach it (5×5 needed a third on MT.mrc, for the same samples), and
 * the main lobe is ~1 dk wide, so a quadratic through ±0.05 dk samples is accurate.
 */
const POLISH = { n: 7, stepDk: 0.05, recentre: 8 };
/**
 * The correlation is built again at the refined vector when that lies more than this from where
 * it was built, dk (never on those simulated cycles). Building it 0.35 dk off moves the result by
 * < 0.01 mrad and 0.01° there: a second refinement stage on the reference's overlaps, rebuilt at
 * the best coarse sample, gave the same figures at ~4 ms more per 256² fit.
 */
const REBUILD_DK = 0.5;

export function robustSearch(
  evaluator: ModampEvaluator,
  correlator: PhaseCorrelator,
  grid: ImageGrid,
  starts: readonly Candidate[],
  window: SearchWindow,
): RobustResult[] {
  const regions: PolarRegion[] = starts.map((s) => ({
    centreRad: s.angleRad,
    magnitudePerUm: s.magnitudePerUm,
    window,
  }));
  const coarse = coarseSearch(evaluator, grid, regions);
  const polished = polish(
    correlator,
    grid,
    coarse.map((c) => c.best),
  );
  const finals = evaluator.evaluate(polished.map((k, d) => ({ orientation: d, kx: k.kx, ky: k.ky })));
  return polished.map((k, d) => {
    const c = coarse[d] as (typeof coarse)[number];
    const modamp = finals[d] as Modamp;
    const angleRad = Math.atan2(k.ky, k.kx);
    return {
      angleRad,
      magnitudePerUm: Math.hypot(k.kx, k.ky),
      modamp,
      phaseRad: k.phaseRad,
      // + the correlator's builds and the final modamp.
      evaluations: c.builds + k.builds + 1,
      degenerate: k.degenerate,
      reliability: judge(c.analysis, Math.hypot(modamp[0], modamp[1]), k.phaseSdRad),
    };
  });
}

/** The coarse stage's grid: a crop of the cycle, with its own evaluator (built on the crop's apodized frames). */
export interface CropStage {
  evaluator: ModampEvaluator;
  grid: ImageGrid;
  /** The crop's centre (pixel (h/2, w/2) of the crop) minus the grid's (pixel (H/2, W/2)), µm, [x, y]. */
  centreOffsetUm: [number, number];
}

/**
 * robustSearch on a grid larger than the working size (working.ts): the coarse search on the crop;
 * then, on the whole grid, the correlation built at the crop's best sample, a search of its lobes
 * at 0.5 dk within ± lobeHalfWidthDk (the crop's sample is known only to a fraction of the crop's
 * step, several of the grid's), the refinement as in robustSearch, and the phase; the reported
 * modamp is the reference's on the crop at the final vector, its phase referred to the grid's
 * centre. The correlation is built again only where the result lies more than half the crop's step
 * from where it was built: its weights vary on the OTF's scale (cycles/µm), not the grid's step,
 * and half a 512² step is within what robustSearch tolerates at 256² (REBUILD_DK). `full` makes the
 * whole grid's correlator; it is disposed here.
 */
export function robustSearchLarge(
  crop: CropStage,
  full: () => PhaseCorrelator,
  grid: ImageGrid,
  starts: readonly Candidate[],
  window: SearchWindow,
  lobeHalfWidthDk: number,
): RobustResult[] {
  const regions: PolarRegion[] = starts.map((s) => ({
    centreRad: s.angleRad,
    magnitudePerUm: s.magnitudePerUm,
    window,
  }));
  const coarse = coarseSearch(crop.evaluator, crop.grid, regions);
  const correlator = full();
  let polished: ReturnType<typeof polish>;
  try {
    const rebuildPerUm = REBUILD_DK * frequencySteps(crop.grid).dkr;
    polished = polish(
      correlator,
      grid,
      coarse.map((c) => c.best),
      { halfWidthDk: lobeHalfWidthDk, rebuildPerUm },
    );
  } finally {
    correlator.dispose();
  }
  const finals = crop.evaluator.evaluate(polished.map((k, d) => ({ orientation: d, kx: k.kx, ky: k.ky })));
  const [ox, oy] = crop.centreOffsetUm;
  return polished.map((k, d) => {
    const c = coarse[d] as (typeof coarse)[number];
    const [re, im] = finals[d] as Modamp;
    // modamp ∝ e^{−iφ} with φ the pattern's phase at the sum's origin: the crop's centre, where the
    // phase is φ0 + 2πk·offset; this refers it to the grid's centre, as phaseRad.
    const turn = 2 * Math.PI * (k.kx * ox + k.ky * oy);
    const modamp: Modamp = [re * Math.cos(turn) - im * Math.sin(turn), re * Math.sin(turn) + im * Math.cos(turn)];
    return {
      angleRad: Math.atan2(k.ky, k.kx),
      magnitudePerUm: Math.hypot(k.kx, k.ky),
      modamp,
      phaseRad: k.phaseRad,
      // The crop's coarse sectors, the grid's correlation builds, the final modamp.
      evaluations: c.builds + k.builds + 1,
      degenerate: k.degenerate,
      reliability: judge(c.analysis, Math.hypot(modamp[0], modamp[1]), k.phaseSdRad),
    };
  });
}

interface CoarseResult {
  best: { kx: number; ky: number };
  analysis: ReturnType<typeof analyseCoarse>;
  builds: number;
}

function coarseSearch(evaluator: ModampEvaluator, g: ImageGrid, regions: PolarRegion[]): CoarseResult[] {
  const { dkx, dky } = frequencySteps(g);
  const sx = COARSE_STEP_DK * dkx;
  const sy = COARSE_STEP_DK * dky;
  const jobs = regions.flatMap((r, d) => {
    const { centres, halfWidthRad } = sectors(r);
    return centres.map((c) => ({ d, centre: c, half: halfWidthRad, box: sectorBox(c, halfWidthRad, r, sx, sy) }));
  });
  const grids = gridsFor(
    jobs.map((j) => j.box),
    sx,
    sy,
  );
  const maps: Float64Array[] = [];
  for (let s = 0; s < jobs.length; s += CHUNK) {
    const part = jobs.slice(s, s + CHUNK);
    maps.push(
      ...tidy(() => {
        const { cross, den } = evaluator.crossProducts(
          part.map((j) => {
            const m = (regions[j.d] as PolarRegion).magnitudePerUm;
            return { orientation: j.d, kx: m * Math.cos(j.centre), ky: m * Math.sin(j.centre) };
          }),
        );
        return modampOnGrids(cross, den, grids.slice(s, s + CHUNK), g);
      }),
    );
  }
  return regions.map((r, d) => {
    const samples: CoarseSample[][] = [];
    jobs.forEach((j, s) => {
      if (j.d !== d) return;
      samples.push(sectorSamples(grids[s] as KGrid, maps[s] as Float64Array, r, j.centre, j.half));
    });
    const analysis = analyseCoarse(samples, dkx, dky);
    return { best: analysis.best, analysis, builds: samples.length };
  });
}

/** Samples of one sector's grid, each marked in-window (and in this sector, so sectors do not overlap) or not. */
function sectorSamples(k: KGrid, map: Float64Array, r: PolarRegion, centre: number, half: number): CoarseSample[] {
  const out: CoarseSample[] = [];
  for (let j = 0; j < k.ny; j++) {
    for (let i = 0; i < k.nx; i++) {
      const kx = k.x0 + i * k.sx;
      const ky = k.y0 + j * k.sy;
      const window = inRegion(r, kx, ky);
      const own = window && Math.abs(angleDiff(Math.atan2(ky, kx), centre)) <= half + 1e-12;
      out.push({ kx, ky, i, j, nx: k.nx, ny: k.ny, score: map[j * k.nx + i] as number, window, own });
    }
  }
  return out;
}

/**
 * Step 2: k0 to the maximum of the weighted correlation's magnitude, and the phase there. The
 * correlation is built at the starts, and once more at the result if that moved more than
 * REBUILD_DK from them.
 */
function polish(
  correlator: PhaseCorrelator,
  g: ImageGrid,
  starts: readonly { kx: number; ky: number }[],
  large: { halfWidthDk: number; rebuildPerUm: number } | null = null,
): {
  kx: number;
  ky: number;
  phaseRad: number;
  phaseSdRad: number | null;
  builds: number;
  degenerate: string | null;
}[] {
  const { dkr } = frequencySteps(g);
  const step = POLISH.stepDk * dkr;
  let built = starts;
  for (let builds = 1; ; builds++) {
    const found = tidy(() => {
      const cands = built.map((k, d) => ({ orientation: d, kx: k.kx, ky: k.ky }));
      const correlation = correlator.crossProducts(cands);
      const { cross, den } = correlation;
      // On the first build of a large grid, the best lobe near the crop's vector first (working.ts).
      const from = builds === 1 && large ? lobes(cross, den, g, built, large.halfWidthDk) : built;
      const ks = peaks(cross, den, g, from, POLISH.n, step, POLISH.recentre);
      const values = modampAt(cross, den, ks, g);
      const errors = correlator.phaseErrors(correlation, cands, values);
      return ks.map((k, d) => {
        const v = values[d] as Modamp;
        return {
          kx: k.kx,
          ky: k.ky,
          phaseRad: -Math.atan2(v[1], v[0]),
          phaseSdRad: errors[d] ?? null,
          builds,
          degenerate: k.ok ? null : 'no quadratic maximum of the phase correlation; kept the best sample',
        };
      });
    });
    const limit = large ? large.rebuildPerUm : REBUILD_DK * dkr;
    const moved = found.some((k, d) => Math.hypot(k.kx - (built[d]?.kx ?? 0), k.ky - (built[d]?.ky ?? 0)) > limit);
    if (!moved || builds === 2) return found;
    built = found;
  }
}

/**
 * The best sample of |Σ cross·e^{iψ}|/den on a grid at 0.5 dk (the coarse step) within ± halfWidthDk
 * of each centre: the lobe the refinement then climbs.
 */
function lobes(
  cross: Tensor,
  den: Tensor,
  g: ImageGrid,
  centres: readonly { kx: number; ky: number }[],
  halfWidthDk: number,
): { kx: number; ky: number }[] {
  const { dkx, dky } = frequencySteps(g);
  const n = lobeSide(halfWidthDk);
  const sx = COARSE_STEP_DK * dkx;
  const sy = COARSE_STEP_DK * dky;
  const grids = centres.map(
    (c): KGrid => ({ x0: c.kx - ((n - 1) * sx) / 2, y0: c.ky - ((n - 1) * sy) / 2, sx, sy, nx: n, ny: n }),
  );
  const maps = modampOnGrids(cross, den, grids, g);
  return maps.map((m, d) => {
    const k = grids[d] as KGrid;
    const b = argmax(m);
    return { kx: k.x0 + (b % n) * k.sx, ky: k.y0 + Math.floor(b / n) * k.sy };
  });
}

/**
 * The peak of |Σ cross·e^{iψ}|/den near each centre: an n×n grid at `step` (cycles/µm), re-centred
 * on its best sample while that lies on the border (at most `recentres` times), then the vertex
 * of the quadratic through the 3×3 samples around it (ok: false when there is none; the best
 * sample then).
 */
function peaks(
  cross: Tensor,
  den: Tensor,
  g: ImageGrid,
  centres: readonly { kx: number; ky: number }[],
  n: number,
  step: number,
  recentres: number,
): { kx: number; ky: number; ok: boolean }[] {
  let grids = stage(cross, den, g, centres, n, step);
  for (let t = 0; t < recentres && grids.some((f) => f.onBorder); t++) {
    grids = stage(
      cross,
      den,
      g,
      grids.map((f) => f.at),
      n,
      step,
    );
  }
  return grids.map((f) => {
    const q = quadraticPeak3x3(f.around);
    return { kx: f.at.kx + (q ? q.dx * step : 0), ky: f.at.ky + (q ? q.dy * step : 0), ok: q !== null };
  });
}

/** One refinement grid per orientation: its best sample, whether that is on the grid's border, and its 3×3 neighbourhood. */
function stage(
  cross: Tensor,
  den: Tensor,
  g: ImageGrid,
  centres: readonly { kx: number; ky: number }[],
  n: number,
  step: number,
): { at: { kx: number; ky: number }; onBorder: boolean; around: number[] }[] {
  const grids = centres.map((c) => gridAround(c.kx, c.ky, n, step));
  const maps = modampOnGrids(cross, den, grids, g);
  return maps.map((m, d) => {
    const k = grids[d] as KGrid;
    const b = argmax(m);
    const i = b % n;
    const j = Math.floor(b / n);
    const onBorder = i === 0 || j === 0 || i === n - 1 || j === n - 1;
    const around: number[] = [];
    for (let y = -1; y <= 1; y++) {
      for (let x = -1; x <= 1; x++) {
        const ii = Math.min(n - 1, Math.max(0, i + x));
        const jj = Math.min(n - 1, Math.max(0, j + y));
        around.push(m[jj * n + ii] as number);
      }
    }
    return { at: { kx: k.x0 + i * k.sx, ky: k.y0 + j * k.sy }, onBorder, around };
  });
}
