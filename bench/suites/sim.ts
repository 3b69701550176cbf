// SIM physics benchmarks: one illumination fit of a 256² × 9 cycle and one MPE stack, against the
// reference NumPy code (bench/python/sim_estimate_bench.py, when RDL_REFERENCE_DIR points at a
// qc17-THU/rDL-SIM checkout). Uses ../shared/data's MT.mrc and 488 nm OTF when present, else
// simulated frames and a synthetic OTF (same sizes, same work).
// Scaling (issue #21): the robust fit at 512², 1024², 2048² and the MPE at 2048² on synthetic
// cycles (syntheticCycle below: the simulator itself needs GBs at 2048²), each with the peak of its
// resident memory beside its time (peakRss).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { emptyCache, fft, poisson, rand, type Tensor, tensor, tidy } from '../../src/engine/index.js';
import { readMrc } from '../../src/io/mrc.js';
import { estimateStack, type IlluminationEstimate } from '../../src/sim/fit/estimate.js';
import type { RawStack } from '../../src/sim/frames.js';
import { generateMpe } from '../../src/sim/mpe.js';
import { otf2d, otfTableForGrid, type RadialOtf, readRadialOtf, syntheticRadialOtf } from '../../src/sim/otf.js';
import { expectedMagnitudePerUm, preset, type SimParameters } from '../../src/sim/params.js';
import { simulatorParameters } from '../../src/sim/simulate/optics.js';
import { type Benchmark, type BenchResult, ratio, runPythonBench, summarize, timeMs } from '../harness.js';

const DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
const RAW = `${DATA}rDL-SIM/Microtubules/MT.mrc`;
const OTF = `${DATA}otf/TIRF488_cam1_0_z30_OTF2d.mrc`;

function inputs(): { stack: RawStack; otf: RadialOtf; real: boolean } {
  if (existsSync(RAW) && existsSync(OTF)) {
    const { header, data } = readMrc(RAW);
    return {
      stack: { data, width: header.nx, height: header.ny, frames: header.nz },
      otf: readRadialOtf(OTF),
      real: true,
    };
  }
  const data = tidy(() => rand([9, 256, 256], { seed: 3 }).mul(1000).add(100).toFloat32Array());
  const otf = syntheticRadialOtf({ na: 1.49, emissionWavelengthNm: 525 }, 0.001, 16);
  return { stack: { data, width: 256, height: 256, frames: 9 }, otf, real: false };
}

/**
 * The fits run many times in a time-lapse; their first second is JIT warm-up (V8 optimises the
 * host loops after some calls; measured: ~35 ms for the robust fit's first 20 calls, 28 after).
 */
const FIT_TIMING = { warmup: 40, minIters: 10, minMs: 2000 };

let reference: BenchResult[] | undefined;
function referenceResults(real: boolean): BenchResult[] {
  reference ??= real && process.env.RDL_REFERENCE_DIR ? runPythonBench('sim_estimate_bench.py', [RAW, OTF]) : [];
  return reference;
}

export const simBenchmarks: Benchmark[] = [
  {
    name: 'sim.estimate_256',
    run: (ctx) => {
      const { stack, otf, real } = inputs();
      const p = preset('setup0');
      let est: IlluminationEstimate | undefined;
      const fit = () => {
        est = estimateStack(stack, otf, p, { device: ctx.device, fit: 'reference' });
      };
      const ours = summarize('sim.estimate_256', 'ms', timeMs(fit, FIT_TIMING));
      if (!est) return [ours];
      const theirs = referenceResults(real).find((r) => r.name === 'reference.sim.estimate_256');
      return theirs ? [ours, theirs, ratio('sim.estimate_256.ratio_vs_reference', ours, theirs)] : [ours];
    },
  },
  {
    // The robust fit (the default) on the same cycle; its budget is 2× sim.estimate_256.
    name: 'sim.estimate_robust_256',
    run: (ctx) => {
      const { stack, otf } = inputs();
      const p = preset('setup0');
      const fit = () => {
        estimateStack(stack, otf, p, { device: ctx.device, fit: 'robust' });
      };
      const ours = summarize('sim.estimate_robust_256', 'ms', timeMs(fit, FIT_TIMING));
      const ref = ctx.results.find((r) => r.name === 'sim.estimate_256');
      return ref ? [ours, ratio('sim.estimate_robust_256.ratio_vs_reference_fit', ours, ref)] : [ours];
    },
  },
  {
    name: 'sim.mpe_256',
    run: (ctx) => {
      const { stack, otf, real } = inputs();
      const p = preset('setup0');
      const table = otfTableForGrid(otf, { height: 256, width: 256, pixelSizeUm: p.pixelSizeUm });
      const est = estimateStack(stack, otf, p, { device: ctx.device });
      const sr = rand([256, 256], { seed: 1, device: ctx.device });
      const once = () => {
        const m: Tensor = generateMpe(sr, est.orientations, 3, table, p.pixelSizeUm, { device: ctx.device });
        if (ctx.device !== 'cpu') m.sum().item();
        m.dispose();
      };
      const ours = summarize('sim.mpe_256', 'ms', timeMs(once, { warmup: 2, minIters: 10, minMs: 1000 }));
      sr.dispose();
      const theirs = referenceResults(real).find((r) => r.name === 'reference.sim.mpe_256');
      return theirs ? [ours, theirs, ratio('sim.mpe_256.ratio_vs_reference', ours, theirs)] : [ours];
    },
  },
  ...[512, 1024, 2048].map(
    (n): Benchmark => ({
      // The robust fit (the default) of a camera-sized cycle, from its uint16 frames as `rdl estimate` takes them.
      name: `sim.estimate_robust_${n}`,
      run: (ctx) => {
        const cycle = syntheticCycle(n, 7, ctx.device);
        const fit = () => {
          estimateStack(cycle.stack, cycle.otf, cycle.params, { device: ctx.device });
        };
        const { samples, peakMb } = peakRss(() => timeMs(fit, LARGE_TIMING));
        const name = `sim.estimate_robust_${n}`;
        return [summarize(name, 'ms', samples), memoryResult(`${name}.peak_rss`, peakMb)];
      },
    }),
  ),
  {
    // 9 pattern-modulated images of a 2048² SR estimate (one frame at a time, mpe.ts).
    name: 'sim.mpe_2048',
    run: (ctx) => {
      const n = 2048;
      const p = simulatorParameters();
      const cycle = syntheticCycle(n, 8, ctx.device);
      const table = otfTableForGrid(cycle.otf, { height: n, width: n, pixelSizeUm: p.pixelSizeUm });
      const sr = rand([n, n], { seed: 1, device: ctx.device });
      const once = () => {
        const m: Tensor = generateMpe(sr, cycle.truth, 3, table, p.pixelSizeUm, { device: ctx.device });
        if (ctx.device !== 'cpu') m.sum().item();
        m.dispose();
      };
      const { samples, peakMb } = peakRss(() => timeMs(once, LARGE_TIMING));
      sr.dispose();
      return [summarize('sim.mpe_2048', 'ms', samples), memoryResult('sim.mpe_2048.peak_rss', peakMb)];
    },
  },
];

/** Large grids: one warm-up call, then at least three timed ones (seconds each at 2048²). */
export const LARGE_TIMING = { warmup: 1, minIters: 3, minMs: 0 };

/**
 * A synthetic 2D-SIM cycle of n² pixels for the scaling benchmarks: a sparse random object (bright
 * specks on a dim background, ~100 peak photons) under the simulator's three patterns (angles 0.01 rad
 * off the presets, |k0| at 0.9 of the cutoff, m 0.8), through the synthetic OTF, Poisson noise, offset
 * 100; as uint16 frames (orientation-major) with its parameters, OTF and true patterns. Built one
 * frame at a time (a 2048² cycle in a few seconds and ~1 GB; the simulator's would need many).
 */
export function syntheticCycle(
  n: number,
  seed: number,
  device: string,
): {
  stack: RawStack;
  otf: RadialOtf;
  params: SimParameters;
  truth: { k0PerUm: [number, number]; phaseRad: number; modulation: number }[];
} {
  const params = simulatorParameters();
  const otf = syntheticRadialOtf(
    { na: params.detectionNA, emissionWavelengthNm: params.emissionWavelengthNm },
    0.001,
    16,
  );
  const grid = { height: n, width: n, pixelSizeUm: params.pixelSizeUm };
  const table = otfTableForGrid(otf, grid);
  const mag = expectedMagnitudePerUm(params);
  const truth = params.startAnglesRad.map((a, d) => ({
    k0PerUm: [mag * Math.cos(a + 0.01), mag * Math.sin(a + 0.01)] as [number, number],
    phaseRad: 0.7 * d - 0.4,
    modulation: 0.8,
  }));
  const data = new Uint16Array(9 * n * n);
  tidy(() => {
    const object = rand([n, n], { seed, device }).pow(6).mul(90).add(10);
    const h = otf2d(table, grid, 'fft', { device });
    const xs = tensor(
      Float64Array.from({ length: n }, (_, i) => (i - n / 2) * params.pixelSizeUm),
      [1, n],
      { dtype: 'float64', device },
    );
    const ys = tensor(
      Float64Array.from({ length: n }, (_, i) => (i - n / 2) * params.pixelSizeUm),
      [n, 1],
      { dtype: 'float64', device },
    );
    truth.forEach((t, d) => {
      for (let j = 0; j < 3; j++) {
        tidy(() => {
          const arg = xs
            .mul(2 * Math.PI * t.k0PerUm[0])
            .add(ys.mul(2 * Math.PI * t.k0PerUm[1]))
            .add(t.phaseRad + (2 * Math.PI * j) / 3);
          const lit = object.mul(arg.cos().mul(t.modulation).add(1).to('float32'));
          const blurred = fft.ifft2(fft.fft2(lit).mul(h)).real().clamp(0, null);
          const counts = poisson(blurred, seed * 31 + d * 3 + j)
            .add(100)
            .clamp(0, 65535);
          data.set(Uint16Array.from(counts.toFloat32Array()), (d * 3 + j) * n * n);
        });
      }
    });
  });
  return { stack: { data, width: n, height: n, frames: 9 }, otf, params, truth };
}

/**
 * Runs fn with the process's resident-memory high-water mark reset first (Linux: /proc/self/clear_refs,
 * after the engine's cache is emptied) and returns fn's value with the peak's growth over the
 * resident memory at the start, MB (NaN where the kernel offers neither file).
 */
export function peakRss<T>(fn: () => T): { samples: T; peakMb: number } {
  emptyCache();
  const status = () => {
    try {
      const text = readFileSync('/proc/self/status', 'utf8');
      const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1] ?? Number.NaN);
      return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
    } catch {
      return { rss: Number.NaN, hwm: Number.NaN };
    }
  };
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // No reset: the high-water mark then covers the whole process so far.
  }
  const start = status().rss;
  const samples = fn();
  const peak = status().hwm;
  return { samples, peakMb: (peak - start) / 1024 };
}

/** A memory figure as a result line (MB). */
export function memoryResult(name: string, mb: number): BenchResult {
  return { name, unit: 'MB', median: mb, min: mb, max: mb, n: 1 };
}
