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

/** An integer option value ≥ min, or a ParameterError naming the option. */
export function integerOption(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= min)) throw new ParameterError(name, `an integer ≥ ${min}`, value);
  return n;
}

/** A finite option value > 0, or a ParameterError naming the option. */
export function positiveOption(name: string, value: string): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new ParameterError(name, 'a number > 0', value);
  return n;
}
