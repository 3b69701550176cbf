// Reconstruction and simulation benchmarks: one Wiener reconstruction of a 256² × 9 cycle (onto
// 512²) against a NumPy re-statement of the same steps (bench/python/sim_wiener_bench.py, Debian's
// python3), and one simulated sample (structure, 9 frames on the 512² fine grid, noise, SR truth).
import { dispose } from '../../src/engine/index.js';
import { syntheticRadialOtf } from '../../src/sim/otf.js';
import { wienerReconstruct } from '../../src/sim/reconstruct/wiener.js';
import { simulatorParameters } from '../../src/sim/simulate/optics.js';
import { simulateSample } from '../../src/sim/simulate/sample.js';
import { type Benchmark, ratio, runPythonBench, summarize, timeMs } from '../harness.js';

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
];
