// src/sim/reconstruct/: Wiener SIM reconstruction on a 2× grid (what the reference leaves to other
// software). Start reading here: reconstructStack takes a raw stack to one SR image per cycle;
// wiener.ts is one cycle (wiener-bands.ts: band separation and shifts, wiener-filter.ts: the
// frequency-space weights); pattern-json.ts reads `rdl estimate --json` files.
//
// Reconstructing a raw SIM stack (one or more cycles): parameters from a file (per cycle group)
// or fitted once on the mean of all cycles (the pattern of a setup is stable over a time-lapse,
// and the mean has the best SNR), then one Wiener reconstruction per cycle.
import { emptyCache, type Tensor, tidy } from '../../engine/index.js';
import { ShapeError } from '../../errors.js';
import { estimateStack, type OrientationEstimate } from '../fit/estimate.js';
import { cycleCount, cycleTensor, type RawStack } from '../frames.js';
import type { RadialOtf } from '../otf.js';
import type { SimParameters } from '../params.js';
import { groupForCycle, type PatternGroup } from './pattern-json.js';
import { type WienerOptions, wienerReconstruct } from './wiener.js';

/** Grids above this many pixels give the fit's cached memory back before reconstructing. */
const LARGE_PIXELS = 512 * 512;

export interface StackReconstruction {
  /** [cycles, 2H, 2W] float32 values, row-major. */
  data: Float32Array;
  cycles: number;
  height: number;
  width: number;
  /** Modulation depth used per cycle and orientation. */
  modulations: number[][];
  /** The fitted parameters when none were given. */
  fitted: OrientationEstimate[] | null;
}

export function reconstructStack(
  stack: RawStack,
  otf: RadialOtf,
  p: SimParameters,
  groups: readonly PatternGroup[] | null,
  o: WienerOptions & { onCycle?: (c: number, total: number) => void } = {},
): StackReconstruction {
  const cycles = cycleCount(stack, p);
  let fitted: OrientationEstimate[] | null = null;
  let patternGroups = groups;
  if (patternGroups === null) {
    fitted = estimateStack(stack, otf, p, { numAverage: cycles, device: o.device }).orientations;
    patternGroups = [{ cycles: null, orientations: fitted }];
    // The fit's freed blocks wait in the engine's CPU cache for a tensor of their exact size, which
    // the reconstruction (planes of the 2× grid) never asks for: on a large grid they are given back,
    // so that the two peaks do not add up (2048²: ~1 GB).
    if (stack.height * stack.width > LARGE_PIXELS) emptyCache();
  }
  const H2 = 2 * stack.height;
  const W2 = 2 * stack.width;
  const data = new Float32Array(cycles * H2 * W2);
  const modulations: number[][] = [];
  for (let c = 0; c < cycles; c++) {
    const g = groupForCycle(patternGroups, c);
    if (g === null) throw new ShapeError(`the parameters cover no group for cycle ${c} (of ${cycles})`);
    const r = tidy(() => {
      const frames: Tensor = cycleTensor(stack, p, { start: c, count: 1, device: o.device });
      const res = wienerReconstruct(frames, otf, p, g.orientations, o);
      return { values: res.image.toFloat32Array(), modulations: res.modulations };
    });
    data.set(r.values, c * H2 * W2);
    modulations.push(r.modulations);
    o.onCycle?.(c + 1, cycles);
  }
  return { data, cycles, height: H2, width: W2, modulations, fitted };
}
