// Reconstruction and simulation benchmarks: one Wiener reconstruction of a 256² × 9 cycle (onto
// 512²) against a NumPy re-statement of the same steps (bench/python/sim_wiener_bench.py, Debian's
// python3), and one simulated sample (structure, 9 frames on the 512² fine grid, noise, SR truth).
// Scaling (issue #21): sim.wiener_{512,1024,2048} on synthetic cycles (sim.ts syntheticCycle), each
// with its peak resident memory and the engine's live-tensor peak, against a NumPy re-statement of
// the reconstruction as it now runs (bench/python/sim_wiener_scale_bench.py, single precision, one
// core: NumPy's FFT is single-threaded).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dispose, tensor } from '../../src/engine/index.js';
import { syntheticRadialOtf } from '../../src/sim/otf.js';
import { lastWienerPeakBytes, wienerReconstruct } from '../../src/sim/reconstruct/wiener.js';
import { simulatorParameters } from '../../src/sim/simulate/optics.js';
import { simulateSample } from '../../src/sim/simulate/sample.js';
import { type Benchmark, type BenchResult, ratio, runPythonBench, summarize, timeMs } from '../harness.js';
import { LARGE_TIMING, memoryResult, peakRss, syntheticCycle } from './sim.js';

const P = simulatorParameters();

export const reconBenchmarks: Benchmark[] = [
  {
    name: 'sim.wiener_256',
    run: (ctx) => {
      const s = simulateSample({
        structure: 'microtubules',
        height: 256,
        width: 256,
        params: P,
        photons: 300,
        seed: 1,
        device: ctx.device,
      });
      const frames = s.noisy.select(0, 0);
      const otf = syntheticRadialOtf({ na: P.detectionNA, emissionWavelengthNm: P.emissionWavelengthNm }, 0.001, 64);
      const once = () => {
        const r = wienerReconstruct(frames, otf, P, s.truth.orientations, { device: ctx.device });
        r.image.sum().item(); // waits for the GPU
        r.image.dispose();
      };
      const ours = summarize('sim.wiener_256', 'ms', timeMs(once, { warmup: 2, minIters: 10, minMs: 2000 }));
      dispose([s, frames]);
      const theirs = runPythonBench('sim_wiener_bench.py', ['256']).find((r) => r.name === 'numpy.sim.wiener_256');
      return theirs ? [ours, theirs, ratio('sim.wiener_256.ratio_vs_numpy', ours, theirs)] : [ours];
    },
  },
  {
    name: 'sim.simulate_256',
    run: (ctx) => {
      let seed = 0;
      const once = () => {
        const s = simulateSample({
          structure: 'microtubules',
          height: 256,
          width: 256,
          params: P,
          photons: 100,
          seed: seed++,
          device: ctx.device,
        });
        s.noisy.sum().item();
        dispose(s);
      };
      return [summarize('sim.simulate_256', 'ms', timeMs(once, { warmup: 1, minIters: 5, minMs: 2000 }))];
    },
  },
  ...[512, 1024, 2048].map(
    (n): Benchmark => ({
      name: `sim.wiener_${n}`,
      run: (ctx) => {
        const cycle = syntheticCycle(n, 11, ctx.device);
        const frames = tensor(Float32Array.from(cycle.stack.data), [3, 3, n, n], { device: ctx.device });
        let live = 0;
        const once = () => {
          const r = wienerReconstruct(frames, cycle.otf, cycle.params, cycle.truth, { device: ctx.device });
          r.image.sum().item(); // waits for the GPU
          r.image.dispose();
          live = Math.max(live, lastWienerPeakBytes());
        };
        const name = `sim.wiener_${n}`;
        const { samples, peakMb } = peakRss(() => timeMs(once, LARGE_TIMING));
        frames.dispose();
        const ours = summarize(name, 'ms', samples);
        const out = [
          ours,
          memoryResult(`${name}.peak_rss`, peakMb),
          memoryResult(`${name}.peak_tensors`, live / 2 ** 20),
        ];
        const theirs = numpyWiener(n);
        return theirs ? [...out, theirs, ratio(`${name}.ratio_vs_numpy`, ours, theirs)] : out;
      },
    }),
  ),
];

/** numpy.sim.wiener_<n> from bench/python/sim_wiener_scale_bench.py, or null without a python3 that has NumPy. */
function numpyWiener(n: number): BenchResult | null {
  const py = process.env.RDL_BENCH_PYTHON ?? 'python3';
  if (spawnSync(py, ['-c', 'import numpy'], { stdio: 'ignore' }).status !== 0) return null;
  const script = fileURLToPath(new URL('../../../bench/python/sim_wiener_scale_bench.py', import.meta.url));
  const r = spawnSync(py, [script, String(n)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`sim_wiener_scale_bench.py failed: ${r.stderr.trim().split('\n').pop()}`);
  return (JSON.parse(r.stdout) as BenchResult[]).find((x) => x.name === `numpy.sim.wiener_${n}`) ?? null;
}
