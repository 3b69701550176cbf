// The rdl command in a child process under a virtual-memory cap (`ulimit -v`, as on clusters),
// so that a runaway allocation fails the test instead of the machine; a small pool runs several
// at once (the machines have 2 cores).
import { spawn } from 'node:child_process';
import { ROOT } from '../helpers.js';

/** Virtual-memory cap of each child, kB (4 GB: enough for libtorch and a small input). */
export const MEMORY_CAP_KB = 4_000_000;

export interface CliRun {
  args: string[];
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `rdl args…` under `ulimit -v capKb` with cwd; resolves when it exits (killed after timeoutMs). */
export function rdlCapped(
  args: string[],
  o: { cwd?: string; capKb?: number; timeoutMs?: number } = {},
): Promise<CliRun> {
  const script = `ulimit -v ${o.capKb ?? MEMORY_CAP_KB}; exec "${process.execPath}" "${ROOT}bin/rdl.js" "$@"`;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script, 'rdl', ...args], {
      cwd: o.cwd ?? ROOT,
      env: { ...process.env, RDL_DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ args, status, signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Runs jobs with at most `width` at a time, results in order. */
export async function pool<T, R>(items: T[], width: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

/** The last line of stderr (the error message of a failed command). */
export function lastLine(s: string): string {
  const lines = s.trimEnd().split('\n');
  return lines[lines.length - 1] ?? '';
}

/** A failure reported as rdl reports user errors: one "rdl: …" line, no stack trace, no source. */
export function isOneLineError(stderr: string): boolean {
  // rdl predict sim says its pixel size before its pipeline reads (and checks) the input.
  stderr = stderr.replace(/^rdl predict sim: pixel size .*\n/, '');
  const last = lastLine(stderr);
  return (
    last.startsWith('rdl: ') &&
    stderr.trimEnd().split('\n').length === 1 &&
    !/RDL_DEBUG|\n\s+at |node_modules|file:\/\//.test(stderr) &&
    stderr.split('\n').every((l) => l.length < 600)
  );
}
