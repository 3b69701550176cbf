// The command-line front end: parsing, exit codes and error display only. Each command lives in
// its own file under commands/ and is listed in commands/index.ts.
import { Command, CommanderError } from 'commander';
import { InterruptedError, RdlError } from '../errors.js';
import { VERSION } from '../version.js';
import { commands } from './commands/index.js';

export function buildProgram(): Command {
  const program = new Command('rdl')
    .description('Rationalized deep learning (rDL) denoising for structured-illumination and light-sheet microscopy')
    .version(VERSION, '-V, --version')
    .option('--threads <n>', 'CPU threads for the engine (default: all cores)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version also end here, with exit code 0.
      return err.exitCode;
    }
    if (err instanceof RdlError) {
      process.stderr.write(`rdl: ${err.message}\n`);
      return err instanceof InterruptedError ? err.exitCode : 1;
    }
    if (process.env.RDL_DEBUG) throw err;
    const message = err instanceof Error ? err.message : String(err);
    if (isMemoryFailure(err)) {
      // Under a virtual-memory limit (ulimit -v) or on a full machine: one line, no stack trace.
      process.stderr.write(
        `rdl: out of memory: ${message.split('\n')[0]} (a virtual-memory limit, ulimit -v, may be too low for this input)\n`,
      );
      return 1;
    }
    process.stderr.write(`rdl: ${message}\n(set RDL_DEBUG=1 for the stack trace)\n`);
    return 1;
  }
}

/** A failed allocation: typed arrays, WebAssembly memory, libtorch's allocator. */
function isMemoryFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const m = err.message;
  return (
    (err instanceof RangeError && /allocation failed|out of memory|memory|Invalid (typed )?array length/i.test(m)) ||
    /WebAssembly\.(Memory|instantiate)|Cannot allocate|std::bad_alloc|DefaultCPUAllocator: (can't|not enough)/i.test(m)
  );
}
