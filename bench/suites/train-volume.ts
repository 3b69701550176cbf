// TiS-/SiS-rDL training iterations at the reference size (RCAN3D 64 features, 3 × 5 RCABs; batch 3
// of 64×64×16 patches), as `rdl train tis|sis` runs them (trainVolume on a simulated light-sheet
// time-lapse in a temp folder), beside the same iteration written plainly in PyTorch
// (bench/python/volume_bench.py). Per-iteration times: the gap between consecutive 'iteration'
// events (patch cutting not hidden behind the previous step, forward, loss — for SiS the GAR
// forward on 32 slices too — backward, Adam). One warm-up iteration, two timed: a reference-size
// 3-D iteration takes tens of seconds on 2 CPU cores.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getNumThreads } from '../../src/engine/index.js';
import { trainVolume, VOLUME_DEFAULTS } from '../../src/pipelines/train-volume.js';
import type { VolumeMode } from '../../src/pipelines/volume-data.js';
import { writeLightsheetDataset } from '../../src/sim/lightsheet/dataset.js';
import { type Benchmark, type BenchResult, ratio, runPythonBench, summarize } from '../harness.js';

const WARMUP = 1;
const TIMED = 2;

function bench(mode: VolumeMode): Benchmark {
  const name = `train.${mode}_iter`;
  return {
    name,
    run: async (ctx) => {
      const root = mkdtempSync(join(tmpdir(), `rdl-bench-${mode}-`));
      try {
        const data = join(root, 'data');
        writeLightsheetDataset(data, {
          depth: mode === 'sis' ? 40 : 16,
          height: 136,
          width: 96,
          frames: mode === 'tis' ? 10 : 1,
          seed: 1,
        });
        const at = new Map<number, number>();
        await trainVolume({
          mode,
          data: [join(data, 'noisy.tif')],
          outDir: join(root, 'run'),
          options: {
            ...VOLUME_DEFAULTS,
            iterations: WARMUP + 1 + TIMED,
            validateEvery: 1e9,
            validateNum: 1,
            patch3d: [16, 64, 64],
            batchSize: 3,
            preset: 'reference',
            device: ctx.device,
          },
          channels: mode === 'tis' ? 4 : 1,
          nsm: false,
          resume: false,
          onEvent: (e) => {
            if (e.kind === 'iteration') at.set(e.iteration, performance.now());
          },
        });
        const durations: number[] = [];
        for (const [i, t] of at) {
          const prev = at.get(i - 1);
          if (i > WARMUP + 1 && prev !== undefined) durations.push(t - prev);
        }
        const ours = summarize(name, 'ms', durations);
        const theirs = runPythonBench('volume_bench.py', [
          '--case',
          mode,
          '--device',
          ctx.device,
          '--threads',
          String(getNumThreads()),
          '--warmup',
          String(WARMUP),
          '--iters',
          String(TIMED),
        ]);
        const out: BenchResult[] = [ours, ...theirs];
        const t = theirs.find((r) => r.name === `torch.${name}`);
        if (t) out.push(ratio(`${name}.ratio_vs_torch`, ours, t));
        return out;
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

export const trainVolumeBenchmarks: Benchmark[] = [bench('tis'), bench('sis')];
