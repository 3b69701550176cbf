// Runs the rdl command line in this process (faster than a child process), capturing what it
// writes to stdout and stderr as text.
import { run } from '../src/cli/main.js';

export async function runCli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const ewrite = process.stderr.write.bind(process.stderr);
  // Only text is the command's: the test runner reports through the same stdout in binary
  // (serialized events), and those writes must reach it.
  const capture =
    (into: string[], pass: typeof process.stdout.write) =>
    (chunk: unknown, ...rest: unknown[]): boolean =>
      typeof chunk === 'string' ? into.push(chunk) > 0 : (pass as (...a: unknown[]) => boolean)(chunk, ...rest);
  process.stdout.write = capture(out, write) as typeof process.stdout.write;
  process.stderr.write = capture(err, ewrite) as typeof process.stderr.write;
  try {
    const code = await run(['node', 'rdl', ...args]);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = write;
    process.stderr.write = ewrite;
  }
}
