// Options every command accepts (declared on the root program in main.ts).
import type { Command } from 'commander';
import { setNumThreads } from '../engine/device.js';
import { ParameterError } from '../errors.js';

/** Applies --threads; call at the start of every command that uses the engine. */
export function applyGlobalOptions(program: Command): void {
  const { threads } = program.opts<{ threads?: string }>();
  if (threads !== undefined) {
    const n = Number(threads);
    if (!Number.isInteger(n) || n < 1) throw new ParameterError('--threads', 'an integer ≥ 1', threads);
    setNumThreads(n);
  }
}
