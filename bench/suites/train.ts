// Whole training iterations at the reference network sizes, as `rdl train sr|denoise` runs them
// (trainSr / trainDenoise on simulated 128×128 data in a temp folder), beside the same iteration
// written plainly in PyTorch (+ NumPy for the illumination fit and the MPE) in
// bench/python/train_bench.py, run in the same process tree. Per-iteration times come from the
// jobs' 'iteration' events (the gap between consecutive events: data preparation that is not
// hidden behind the previous step, the forward, loss, backward, Adam step and the trainer's
// bookkeeping); the first W iterations are warm-up. Also a memory check: RSS of a long small run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getNumThreads } from '../../src/engine/index.js';
import { DFCAN } from '../../src/models/dfcan.js';
import { saveModelFolder } from '../../src/models/folder.js';
import { DENOISE_DEFAULTS, trainDenoise } from '../../src/pipelines/train-denoise.js';
import { SR_DEFAULTS, trainSr } from '../../src/pipelines/train-sr.js';
import { syntheticRadialOtf } from '../../src/sim/otf.js';
import { preset, resolveParameters } from '../../src/sim/params.js';
import type { TrainEvent } from '../../src/train/trainer.js';
import { type Benchmark, type BenchResult, ratio, runPythonBench, summarize } from '../harness.js';

/** Warm-up iterations (allocator, oneDNN primitive caches, the first illumination fit), then timed ones. */
const WARMUP = 2;
const TIMED = 4;

const CLI = fileURLToPath(new URL('../../../bin/rdl.js', import.meta.url));

/** Simulates a data set (`rdl simulate`, 128×128 raw cycles) into a new temp folder; returns its root. */
function simulate(layout: 'sr' | 'dn', train: number): string {
  const root = mkdtempSync(join(tmpdir(), `rdl-bench-train-${layout}-`));
  const out = join(root, 'data');
  const args = ['simulate', '-o', out, '--layout', layout, '--size', '128', '--train', String(train), '--val', '1'];
  const r = spawnSync(process.execPath, [CLI, ...args, '--photons', '100'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`rdl simulate failed: ${r.stderr.trim().split('\n').pop()}`);
  return root;
}

const mb = (bytes: number) => bytes / (1024 * 1024);
const value = (name: string, unit: string, v: number): BenchResult => ({ name, unit, median: v, min: v, max: v, n: 1 });
/** Peak RSS of this process so far (it includes every benchmark run before this one). */
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

/** Collects the 'iteration' event times; durations of iterations WARMUP+1 … end. */
function iterationClock(): { onEvent: (e: TrainEvent) => void; durations: () => number[] } {
  const at = new Map<number, number>();
  return {
    onEvent: (e) => {
      if (e.kind === 'iteration') at.set(e.iteration, performance.now());
    },
    durations: () => {
      const out: number[] = [];
      for (const [i, t] of at) {
        const prev = at.get(i - 1);
        if (i > WARMUP && prev !== undefined) out.push(t - prev);
      }
      return out;
    },
  };
}

/** Our figures, PyTorch's (same case) and the ratio of the medians, plus RSS. */
function withTorch(name: string, ours: BenchResult, rssMb: number, pyArgs: string[]): BenchResult[] {
  const out = [ours, value(`${name}.rss_mb`, 'MB', rssMb), value(`${name}.peak_rss_mb`, 'MB', peakRssMb())];
  const theirs = runPythonBench('train_bench.py', [
    ...pyArgs,
    '--threads',
    String(getNumThreads()),
    '--warmup',
    String(WARMUP),
    '--iters',
    String(TIMED),
  ]);
  const t = theirs.find((r) => r.name === `torch.${name}`);
  if (t) out.push(t, ratio(`${name}.ratio_vs_torch`, ours, t));
  out.push(...theirs.filter((r) => r !== t));
  return out;
}

export const trainBenchmarks: Benchmark[] = [
  {
    // One `rdl train sr` iteration, preset reference (DFCAN, 16 FCABs), batch 4 of 128×128 patches
    // (9 frames in, 256×256 target): random pick and crop of the loaded samples, per-sample and
    // per-batch min–max, forward, mse_ssim, backward, Adam. 8 training samples, files read once
    // (the loader's cache) by the warm-up iterations or overlapped with the previous step.
    name: 'train.sr_iter_b4_128',
    run: async (ctx) => {
      const root = simulate('sr', 8);
      try {
        const clock = iterationClock();
        await trainSr({
          data: join(root, 'data'),
          outDir: join(root, 'run'),
          options: {
            ...SR_DEFAULTS,
            iterations: WARMUP + TIMED,
            validateEvery: 1e9,
            validateNum: 1,
            patch: 128,
            batchSize: 4,
            preset: 'reference',
            device: ctx.device,
          },
          resume: false,
          onEvent: clock.onEvent,
        });
        const rss = mb(process.memoryUsage().rss);
        const ours = summarize('train.sr_iter_b4_128', 'ms', clock.durations());
        return withTorch('train.sr_iter_b4_128', ours, rss, ['--case', 'sr', '--device', ctx.device]);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  },
  {
    // One `rdl train denoise` iteration, preset reference: batch 1 cycle = 3 orientations of
    // 128×128 × 3 phases. Includes the frozen DFCAN (reference size) forward on the cycle, MPE
    // (patterns · SR, × OTF, |IFFT|, joint min–max), intensity equalization, denoiser forward,
    // mse_ssim, backward, Adam. The data set has ONE training sample, so its illumination fit
    // (made once per sample and cached, on both sides) lands in the first warm-up iteration: the
    // timed iterations are the steady state of a long run, where the per-sample fits are amortized.
    // The Python side reports its NumPy fit time on its own (torch.train.denoise_fit_128).
    name: 'train.denoise_iter_128',
    run: async (ctx) => {
      const root = simulate('dn', 1);
      try {
        const srModel = join(root, 'sr-model');
        const dfcan = new DFCAN({}, { seed: 1 });
        saveModelFolder(dfcan, srModel);
        dfcan.dispose();
        const paramsPath = join(root, 'data', 'sim_parameters.json');
        const params = resolveParameters(preset('setup0'), JSON.parse(readFileSync(paramsPath, 'utf8')), paramsPath);
        const clock = iterationClock();
        await trainDenoise({
          data: join(root, 'data'),
          outDir: join(root, 'run'),
          options: {
            ...DENOISE_DEFAULTS,
            iterations: WARMUP + TIMED,
            validateEvery: 1e9,
            validateNum: 1,
            patch: 128,
            batchSize: 1,
            preset: 'reference',
            device: ctx.device,
          },
          resume: false,
          srModel,
          nsm: false,
          params,
          otf: syntheticRadialOtf(
            { na: params.detectionNA, emissionWavelengthNm: params.emissionWavelengthNm },
            0.001,
            64,
          ),
          fit: 'reference',
          onEvent: clock.onEvent,
        });
        const rss = mb(process.memoryUsage().rss);
        const ours = summarize('train.denoise_iter_128', 'ms', clock.durations());
        return withTorch('train.denoise_iter_128', ours, rss, [
          '--case',
          'denoise',
          '--device',
          ctx.device,
          '--pixel-um',
          String(params.pixelSizeUm),
          '--na',
          String(params.detectionNA),
          '--em-nm',
          String(params.emissionWavelengthNm),
          '--spacing-um',
          String(params.lineSpacingUm ?? params.excitationWavelengthNm / params.excitationNA / 2000),
          '--angles',
          params.startAnglesRad.join(','),
        ]);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  },
  {
    // Memory stays flat over a long run: 200 iterations of the small preset (patch 32, batch 4);
    // RSS after iteration 20 and after 200, and their ratio (≈ 1). No Python side.
    name: 'train.sr_small_rss_200',
    run: async (ctx) => {
      const root = simulate('sr', 8);
      try {
        const rss = new Map<number, number>();
        await trainSr({
          data: join(root, 'data'),
          outDir: join(root, 'run'),
          options: {
            ...SR_DEFAULTS,
            iterations: 200,
            validateEvery: 1e9,
            validateNum: 1,
            patch: 32,
            batchSize: 4,
            preset: 'small',
            device: ctx.device,
          },
          resume: false,
          onEvent: (e) => {
            if (e.kind === 'iteration' && (e.iteration === 20 || e.iteration === 200)) {
              rss.set(e.iteration, mb(process.memoryUsage().rss));
            }
          },
        });
        const a = value('train.sr_small_rss_200.rss_it20', 'MB', rss.get(20) ?? Number.NaN);
        const b = value('train.sr_small_rss_200.rss_it200', 'MB', rss.get(200) ?? Number.NaN);
        return [a, b, ratio('train.sr_small_rss_200.ratio_200_vs_20', b, a)];
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  },
];
