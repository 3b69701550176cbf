// `npm run bench [-- --json] [--only PREFIX] [--device cpu|cuda]`: runs the benchmarks and prints
// a table (or a JSON array of {name, unit, median, min, max, n}).
import { Command } from 'commander';
import { setDefaultDevice } from '../src/engine/index.js';
import type { BenchContext, Benchmark, BenchResult } from './harness.js';
import { suites } from './suites/index.js';

const program = new Command('bench')
  .description('rdl benchmarks (never part of the tests)')
  .option('--json', 'print a JSON array of results')
  .option('--only <prefix>', 'run only benchmarks whose name starts with this prefix')
  .option('--device <device>', 'device for the engine benchmarks', 'cpu')
  .parse();
const opts = program.opts<{ json?: boolean; only?: string; device: string }>();
setDefaultDevice(opts.device);

const all: Benchmark[] = suites.flat();
const chosen = all.filter((b) => opts.only === undefined || b.name.startsWith(opts.only));
const ctx: BenchContext = { device: opts.device, results: [] };
for (const b of chosen) {
  if (!opts.json) process.stderr.write(`running ${b.name}…\n`);
  const out = await b.run(ctx);
  ctx.results.push(...out);
  if (!opts.json) for (const r of out) print(r);
}
if (opts.json) process.stdout.write(`${JSON.stringify(ctx.results, null, 2)}\n`);

function print(r: BenchResult): void {
  const f = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(3));
  const range = r.n > 1 ? `  (min ${f(r.min)}, max ${f(r.max)}, n ${r.n})` : '';
  process.stdout.write(`${r.name.padEnd(48)} ${f(r.median).padStart(10)} ${r.unit}${range}\n`);
}
