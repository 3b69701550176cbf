// Benchmark plumbing: timing loops, result records, and calling PyTorch-for-Python for the
// side-by-side figures. Benchmarks never run as part of the tests.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface BenchResult {
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  n: number;
}

export interface BenchContext {
  device: string;
  /** Results so far in this run (ratios read them). */
  results: BenchResult[];
}

export interface Benchmark {
  name: string;
  run(ctx: BenchContext): Promise<BenchResult[]> | BenchResult[];
}

export function summarize(name: string, unit: string, samples: number[]): BenchResult {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { name, unit, median, min: s[0] as number, max: s[s.length - 1] as number, n: s.length };
}

/** Times fn (ms per call): warm-up calls, then samples until both minIters and minMs are reached. */
export function timeMs(
  fn: () => void,
  o: { warmup?: number; minIters?: number; minMs?: number; maxIters?: number } = {},
): number[] {
  for (let i = 0; i < (o.warmup ?? 2); i++) fn();
  const samples: number[] = [];
  const start = performance.now();
  while (
    samples.length < (o.maxIters ?? 1000) &&
    (samples.length < (o.minIters ?? 5) || performance.now() - start < (o.minMs ?? 500))
  ) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  return samples;
}

/** A ratio result (ours / theirs) from two medians; lower is better for times. */
export function ratio(name: string, ours: BenchResult, theirs: BenchResult): BenchResult {
  const r = ours.median / theirs.median;
  return { name, unit: 'ratio', median: r, min: r, max: r, n: 1 };
}

let pythonCache: string | null | undefined;

/** A Python interpreter that can import torch (RDL_BENCH_PYTHON, python3, /usr/bin/python3), or null. */
export function torchPython(): string | null {
  if (pythonCache !== undefined) return pythonCache;
  const candidates = [process.env.RDL_BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  pythonCache =
    candidates.find((py) => spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) ?? null;
  return pythonCache;
}

/** Runs bench/python/<script> with args; it prints a JSON array of BenchResult. */
export function runPythonBench(script: string, args: string[]): BenchResult[] {
  const py = torchPython();
  if (py === null) return [];
  const path = fileURLToPath(new URL(`../../bench/python/${script}`, import.meta.url));
  const r = spawnSync(py, [path, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr.trim().split('\n').pop()}`);
  return JSON.parse(r.stdout) as BenchResult[];
}
