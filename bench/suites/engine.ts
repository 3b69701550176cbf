// Engine benchmarks: the addon must add no measurable cost to heavy ops (ratio to PyTorch on the
// same machine, same threads) and little to tiny ones (µs per call).
import { F, getNumThreads, ones, randn, tidy } from '../../src/engine/index.js';
import { type Benchmark, type BenchResult, ratio, runPythonBench, summarize, timeMs } from '../harness.js';

const CONV = 'engine.conv2d_3x3_64_128_fwd_bwd';
let torchOverhead: BenchResult | undefined;

export const engineBenchmarks: Benchmark[] = [
  {
    name: CONV,
    run: (ctx) => {
      const x = randn([1, 64, 128, 128], { seed: 1, device: ctx.device });
      const w = randn([64, 64, 3, 3], { seed: 2, device: ctx.device }).mul(0.05).requiresGrad_();
      const b = randn([64], { seed: 3, device: ctx.device }).requiresGrad_();
      const step = () =>
        tidy(() => {
          const y = F.conv2d(x, w, b, { padding: 1 });
          y.sum().backward();
          w.clearGrad();
          b.clearGrad();
          if (ctx.device !== 'cpu') y.sum().item(); // wait for the GPU
        });
      const ours = summarize(CONV, 'ms', timeMs(step, { warmup: 3, minIters: 10, minMs: 2000 }));
      for (const t of [x, w, b]) t.dispose();
      const theirs = runPythonBench('engine_bench.py', ['--threads', String(getNumThreads()), '--device', ctx.device]);
      torchOverhead = theirs.find((r) => r.name === 'torch.engine.op_overhead');
      const torchConv = theirs.find((r) => r.name === `torch.${CONV}`);
      return torchConv ? [ours, torchConv, ratio(`${CONV}.ratio_vs_torch`, ours, torchConv)] : [ours];
    },
  },
  {
    name: 'engine.op_overhead',
    run: (ctx) => {
      // µs per call of a tiny element-wise op (1 element): the cost of the binding itself.
      const a = ones([1], { device: ctx.device });
      const calls = 20000;
      const samples = timeMs(
        () => {
          for (let i = 0; i < calls; i++) a.add(1).dispose();
        },
        { warmup: 1, minIters: 5, minMs: 1000 },
      ).map((ms) => (ms * 1000) / calls);
      a.dispose();
      const ours = summarize('engine.op_overhead', 'µs', samples);
      // PyTorch's figure for the same op, from the conv benchmark's Python run when it ran.
      const theirs = torchOverhead;
      return theirs ? [ours, theirs, ratio('engine.op_overhead.ratio_vs_torch', ours, theirs)] : [ours];
    },
  },
];
