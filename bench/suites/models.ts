// Network benchmarks at the reference configurations (CPU by default): one training step (forward,
// loss, backward, Adam) and one inference, with PyTorch-for-Python running the same networks in
// the same run for the ratio. Steps take seconds on CPU: few iterations.
import { Adam, getNumThreads, noGrad, rand, type Tensor, tidy } from '../../src/engine/index.js';
import { RdlDenoiser } from '../../src/models/denoiser.js';
import { DFCAN } from '../../src/models/dfcan.js';
import { RCAN3D, RCAN3D_NSM_REFERENCE } from '../../src/models/rcan3d.js';
import { mse, mseSsim } from '../../src/nn/losses.js';
import type { Module } from '../../src/nn/module.js';
import {
  type BenchContext,
  type Benchmark,
  type BenchResult,
  ratio,
  runPythonBench,
  summarize,
  timeMs,
} from '../harness.js';

/** Forward GFLOP of the 3×3(×3) convolutions (2 · taps · Cin · Cout per output voxel); 1×1 ones are negligible. */
const conv = (taps: number, cin: number, cout: number, voxels: number) => (2 * taps * cin * cout * voxels) / 1e9;

function dfcanGflop(batch: number, side: number): number {
  const hw = side * side;
  const fcab = 2 * conv(9, 64, 64, hw) + conv(9, 64, 64, 128 * 128);
  return batch * (conv(9, 9, 64, hw) + 16 * fcab + conv(9, 64, 256, hw) + conv(9, 64, 1, 4 * hw));
}
function denoiserGflop(batch: number, side: number): number {
  const hw = side * side;
  const rcab = 2 * conv(9, 64, 64, hw);
  const trunk = 12 * 5 * rcab + 3 * conv(9, 64, 64, hw); // 60 RCABs; two branch bodies and the merge
  return batch * (trunk + 2 * conv(9, 3, 64, hw) + conv(9, 64, 256, hw) + conv(9, 256, 3, hw));
}
function rcan3dGflop(batch: number, voxels: number, ch: number): number {
  return (
    batch *
    (2 * conv(27, ch, 64, voxels) +
      15 * 2 * conv(27, 64, 64, voxels) +
      conv(27, 64, 256, voxels) +
      conv(27, 256, ch, voxels))
  );
}

/** A backward pass costs about twice the forward one. */
const TRAIN_FACTOR = 3;

interface Case {
  name: string;
  gflop: number;
  /** Builds the model and inputs; returns the timed function and a cleanup. */
  setup(device: string): { fn: () => void; done: () => void };
}

function trainStep(model: Module, loss: () => Tensor, device: string): { fn: () => void; done: () => void } {
  const opt = new Adam(model.parameters(), { lr: 1e-4, epsStyle: 'keras' });
  return {
    fn: () =>
      tidy(() => {
        opt.zeroGrad();
        const l = loss();
        l.backward();
        opt.step();
        if (device !== 'cpu') l.item();
      }),
    done: () => {
      opt.dispose();
      model.dispose();
    },
  };
}

const CASES: Case[] = [
  {
    name: 'dfcan.train_step_b4_128',
    gflop: TRAIN_FACTOR * dfcanGflop(4, 128),
    setup: (device) => {
      const m = new DFCAN({}, { seed: 1 });
      const x = rand([4, 9, 128, 128], { seed: 2, device });
      const y = rand([4, 1, 256, 256], { seed: 3, device });
      const s = trainStep(m, () => mseSsim(m.forward(x), y), device);
      return {
        fn: s.fn,
        done: () => {
          s.done();
          x.dispose();
          y.dispose();
        },
      };
    },
  },
  {
    name: 'dfcan.infer_256',
    gflop: dfcanGflop(1, 256),
    setup: (device) => {
      const m = new DFCAN({}, { seed: 1 });
      const x = rand([1, 9, 256, 256], { seed: 2, device });
      return {
        fn: () => noGrad(() => tidy(() => void m.forward(x).sum().item())),
        done: () => {
          m.dispose();
          x.dispose();
        },
      };
    },
  },
  {
    name: 'denoiser.train_step_b3_128',
    gflop: TRAIN_FACTOR * denoiserGflop(3, 128),
    setup: (device) => {
      const m = new RdlDenoiser({}, { seed: 1 });
      const [a, b, y] = [4, 5, 6].map((seed) => rand([3, 3, 128, 128], { seed, device })) as [Tensor, Tensor, Tensor];
      const s = trainStep(m, () => mseSsim(m.forward(a, b), y), device);
      return {
        fn: s.fn,
        done: () => {
          s.done();
          a.dispose();
          b.dispose();
          y.dispose();
        },
      };
    },
  },
  {
    name: 'denoiser.infer_256',
    gflop: denoiserGflop(1, 256),
    setup: (device) => {
      const m = new RdlDenoiser({}, { seed: 1 });
      const [a, b] = [4, 5].map((seed) => rand([1, 3, 256, 256], { seed, device })) as [Tensor, Tensor];
      return {
        fn: () => noGrad(() => tidy(() => void m.forward(a, b).sum().item())),
        done: () => {
          m.dispose();
          a.dispose();
          b.dispose();
        },
      };
    },
  },
  {
    name: 'rcan3d.train_step_b3_64x64x16',
    gflop: TRAIN_FACTOR * rcan3dGflop(3, 64 * 64 * 16, 4),
    setup: (device) => {
      // The reference's TiS model (RCAN3D_NSM, 4 channels); volumes (B, C, Z, Y, X).
      const m = new RCAN3D({ nsm: RCAN3D_NSM_REFERENCE }, { seed: 1 });
      const x = rand([3, 4, 16, 64, 64], { seed: 2, device });
      const y = rand([3, 4, 16, 64, 64], { seed: 3, device });
      const s = trainStep(m, () => mse(m.forward(x), y), device);
      return {
        fn: s.fn,
        done: () => {
          s.done();
          x.dispose();
          y.dispose();
        },
      };
    },
  },
];

function bench(c: Case): Benchmark {
  return {
    name: c.name,
    run: (ctx: BenchContext) => {
      const { fn, done } = c.setup(ctx.device);
      // Steps take seconds to minutes on 2 shared CPU cores: one warm-up (allocator, oneDNN
      // primitive caches), then two timed runs (one for the slowest case); the ratio compares
      // the fastest runs of each side, the figure least disturbed by other load on the machine.
      const iters = c.name.startsWith('rcan3d') ? 1 : 2;
      const ours = summarize(c.name, 'ms', timeMs(fn, { warmup: 1, minIters: iters, minMs: 0, maxIters: iters }));
      done();
      const out: BenchResult[] = [ours, rate(`${c.name}.gflops`, c.gflop, ours)];
      const theirs = runPythonBench('models_bench.py', [
        '--case',
        c.name,
        '--threads',
        String(getNumThreads()),
        '--device',
        ctx.device,
        '--iters',
        String(iters),
      ]).find((r) => r.name === `torch.${c.name}`);
      if (theirs) {
        const fastest = (r: BenchResult): BenchResult => ({ ...r, median: r.min });
        out.push(theirs, ratio(`${c.name}.ratio_vs_torch`, fastest(ours), fastest(theirs)));
      }
      return out;
    },
  };
}

/** Achieved GFLOP/s in the fastest run. */
function rate(name: string, gflop: number, r: BenchResult): BenchResult {
  const v = gflop / (r.min / 1000);
  return { name, unit: 'GFLOP/s', median: v, min: v, max: v, n: 1 };
}

export const modelBenchmarks: Benchmark[] = CASES.map(bench);
