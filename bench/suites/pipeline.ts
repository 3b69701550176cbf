// `rdl predict sim` as a whole, on simulated time-lapses (`rdl simulate`, mrc layout) in a temp folder:
//   pipeline.predict_sim_cycle_256  per-cycle time at the reference network sizes (DFCAN_REFERENCE,
//     DENOISER_REFERENCE, random weights saved as model folders and loaded as the CLI loads them) on
//     a 256×256 time-lapse, predictSim() called in-process with the CLI's defaults except the fit
//     ('reference': the reference's hill climb). Timed: the CycleReport's fit + denoise (illumination
//     fit, SR module, MPE, equalization, denoiser, undoing the normalization, low-frequency restore),
//     after WARMUP cycles. Beside it bench/python/predict_sim_bench.py does the same steps plainly in
//     PyTorch + NumPy on the same file, same thread count, for the ratio (target ≤ 0.8).
//     Also, for information: the whole wall time per cycle (…_total: with the modulation check on
//     input and output and the writing), and each step's median.
//   pipeline.predict_sim_rss_512  peak RSS of `node bin/rdl.js predict sim` (a child process, small
//     models) on a 24-cycle 512×512 time-lapse minus that on a 3-cycle one, MB (target ≤ 300): the
//     pipeline reads and writes cycle by cycle, so memory should not grow with the length.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getNumThreads } from '../../src/engine/index.js';
import { DENOISER_REFERENCE, DENOISER_SMALL, RdlDenoiser } from '../../src/models/denoiser.js';
import { DFCAN, DFCAN_REFERENCE, DFCAN_SMALL } from '../../src/models/dfcan.js';
import { loadModelOfKind, saveModelFolder } from '../../src/models/folder.js';
import type { AnyModel } from '../../src/models/registry.js';
import { type CycleReport, predictSim } from '../../src/pipelines/predict-sim.js';
import { syntheticRadialOtf } from '../../src/sim/otf.js';
import { preset, resolveParameters, type SimParameters } from '../../src/sim/params.js';
import { type Benchmark, type BenchResult, ratio, runPythonBench, summarize } from '../harness.js';

/** Warm-up cycles (allocator, oneDNN primitive caches, OTF tables), then timed ones. */
const WARMUP = 1;
const TIMED = 4;

const CLI = fileURLToPath(new URL('../../../bin/rdl.js', import.meta.url));
/** What `rdl simulate --layout mrc --photons 100` names its time-lapse. */
const RAW_NAME = 'microtubules_100ph.mrc';

const value = (name: string, unit: string, v: number): BenchResult => ({ name, unit, median: v, min: v, max: v, n: 1 });
const median = (xs: number[]) => summarize('', '', xs).median;

/** `rdl simulate` of a `cycles`-cycle size × size time-lapse into root/name; returns that folder. */
function simulate(root: string, name: string, size: number, cycles: number): string {
  const out = join(root, name);
  const args = ['simulate', '-o', out, '--size', String(size), '--cycles', String(cycles), '--photons', '100'];
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`rdl simulate failed: ${r.stderr.trim().split('\n').pop()}`);
  return out;
}

/** sim_parameters.json over preset setup0, as `rdl predict sim --params` resolves it. */
function simParams(data: string): SimParameters {
  const path = join(data, 'sim_parameters.json');
  return resolveParameters(preset('setup0'), JSON.parse(readFileSync(path, 'utf8')), path);
}

/** Random-weight model folders root/sr-model and root/dn-model. */
function saveModels(root: string, size: 'reference' | 'small'): { sr: string; dn: string } {
  const sr = new DFCAN(size === 'reference' ? DFCAN_REFERENCE : DFCAN_SMALL, { seed: 1 });
  const dn = new RdlDenoiser(size === 'reference' ? DENOISER_REFERENCE : { ...DENOISER_SMALL, channels: 3 }, {
    seed: 2,
  });
  const paths = { sr: join(root, 'sr-model'), dn: join(root, 'dn-model') };
  try {
    saveModelFolder(sr, paths.sr);
    saveModelFolder(dn, paths.dn);
  } finally {
    sr.dispose();
    dn.dispose();
  }
  return paths;
}

/** Peak RSS (MB) of `node bin/rdl.js …args`: /usr/bin/time -f %M when present, else an exit hook in the child. */
function childPeakRssMb(args: string[]): number {
  const time = '/usr/bin/time';
  if (existsSync(time)) {
    const r = spawnSync(time, ['-f', 'maxrss_kb %M', process.execPath, CLI, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`rdl ${args[0]} ${args[1]} failed: ${r.stderr.trim().split('\n').pop()}`);
    const m = /maxrss_kb (\d+)/.exec(r.stderr);
    if (m) return Number(m[1]) / 1024;
  }
  const hook = `data:text/javascript,process.on('exit',()=>process.stderr.write('maxrss_kb '+process.resourceUsage().maxRSS+'\\n'))`;
  const r = spawnSync(process.execPath, ['--import', hook, CLI, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`rdl ${args[0]} ${args[1]} failed: ${r.stderr.trim().split('\n').pop()}`);
  const m = /maxrss_kb (\d+)/.exec(r.stderr);
  if (!m) throw new Error('no peak RSS reported by the child');
  return Number(m[1]) / 1024;
}

export const pipelineBenchmarks: Benchmark[] = [
  {
    // WARMUP + TIMED cycles of 256×256 × 9 frames; numAverage 1, so every cycle is fitted on its own
    // (as the reference's predict script with num_average 1). One tile (tile 512 > 256).
    name: 'pipeline.predict_sim_cycle_256',
    run: async (ctx) => {
      const root = mkdtempSync(join(tmpdir(), 'rdl-bench-pipeline-'));
      const loaded: AnyModel[] = [];
      try {
        const data = simulate(root, 'data', 256, WARMUP + TIMED);
        const input = join(data, RAW_NAME);
        const folders = saveModels(root, 'reference');
        const sr = await loadModelOfKind(folders.sr, 'dfcan', '--sr-model');
        loaded.push(sr);
        const denoiser = await loadModelOfKind(folders.dn, 'rdl-denoiser', '--denoise-model');
        loaded.push(denoiser);
        if (!(sr instanceof DFCAN && denoiser instanceof RdlDenoiser)) throw new Error('unexpected model kinds');
        const params = simParams(data);
        const reports: CycleReport[] = [];
        /** performance.now() at each onCycle: the gap to the previous one is a cycle's whole wall time. */
        const at: number[] = [];
        const evaluations: number[] = [];
        await predictSim({
          input,
          output: join(root, 'denoised.mrc'),
          models: { sr, denoiser },
          params,
          otf: syntheticRadialOtf(
            { na: params.detectionNA, emissionWavelengthNm: params.emissionWavelengthNm },
            0.001,
            64,
          ),
          fit: 'reference',
          numAverage: 1,
          dtype: 'uint16',
          cycle: { tile: 512, overlap: 32, keepLowFrequencies: 0.1, device: ctx.device },
          reconstruct: null,
          wiener: 0.05,
          onGroup: (g) => evaluations.push(g.orientations.reduce((n, o) => n + o.evaluations, 0)),
          onCycle: (r) => {
            at.push(performance.now());
            reports.push(r);
          },
        });
        // Our models' memory is given back before the Python side runs.
        for (const m of loaded.splice(0)) m.dispose();
        const timed = reports.slice(WARMUP);
        const name = 'pipeline.predict_sim_cycle_256';
        const ours = summarize(
          name,
          'ms',
          timed.map((r) => r.timings.fit + r.timings.denoise),
        );
        const step = (k: keyof CycleReport['timings']) =>
          summarize(
            `${name}.${k}`,
            'ms',
            timed.map((r) => r.timings[k]),
          );
        const out: BenchResult[] = [
          ours,
          summarize(
            `${name}_total`,
            'ms',
            at.slice(WARMUP).map((t, i) => t - (at[WARMUP + i - 1] as number)),
          ),
          step('fit'),
          step('denoise'),
          step('measure'),
          step('write'),
          value(`${name}.fit_evaluations`, 'count', median(evaluations.slice(WARMUP))),
        ];
        // The PyTorch + NumPy side, on the same file, with the resolved parameters.
        const paramsPath = join(root, 'params.json');
        writeFileSync(paramsPath, JSON.stringify(params));
        const theirs = runPythonBench('predict_sim_bench.py', [
          input,
          paramsPath,
          '--threads',
          String(getNumThreads()),
          '--device',
          ctx.device,
          '--warmup',
          String(WARMUP),
          '--cycles',
          String(TIMED),
        ]);
        const t = theirs.find((r) => r.name === `torch.${name}`);
        if (t) out.push(t, ratio(`${name}.ratio_vs_torch`, ours, t));
        out.push(...theirs.filter((r) => r !== t));
        return out;
      } finally {
        for (const m of loaded) m.dispose();
        rmSync(root, { recursive: true, force: true });
      }
    },
  },
  {
    // Peak RSS of the CLI on 512×512 time-lapses of 24 and 3 cycles, small models (DFCAN_SMALL,
    // DENOISER_SMALL), the CLI's defaults otherwise (robust fit, --num-average 1, tile 512). No
    // Python side.
    name: 'pipeline.predict_sim_rss_512',
    run: (ctx) => {
      const root = mkdtempSync(join(tmpdir(), 'rdl-bench-pipeline-rss-'));
      try {
        const models = saveModels(root, 'small');
        const rss = (cycles: number) => {
          const data = simulate(root, `data${cycles}`, 512, cycles);
          const mb = childPeakRssMb([
            'predict',
            'sim',
            join(data, RAW_NAME),
            '--sr-model',
            models.sr,
            '--denoise-model',
            models.dn,
            '--params',
            join(data, 'sim_parameters.json'),
            '-o',
            join(root, `denoised${cycles}.mrc`),
            '--device',
            ctx.device,
          ]);
          rmSync(data, { recursive: true, force: true });
          return mb;
        };
        const short = rss(3);
        const long = rss(24);
        const name = 'pipeline.predict_sim_rss_512';
        return [
          value(name, 'MB', long - short),
          value(`${name}.cycles_3`, 'MB', short),
          value(`${name}.cycles_24`, 'MB', long),
        ];
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  },
];
