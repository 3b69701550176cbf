// Atomic, input-safe writes: data goes to a temporary file beside the target, which is then
// renamed over it, so a reader never sees a half-written file and a failed write leaves the
// old file (if any) untouched.
import { closeSync, fsyncSync, openSync, realpathSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { OutputError } from '../errors.js';

function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Throws OutputError when output is (or resolves to) one of the inputs. */
export function refuseToOverwriteInputs(output: string, inputs: readonly string[]): void {
  const out = canonical(output);
  for (const input of inputs) {
    if (canonical(input) === out) {
      throw new OutputError(`refusing to overwrite the input file ${input}; choose another output path`);
    }
  }
}

/** Writes the chunks to path atomically; inputs (if given) are never overwritten. */
export function writeFileAtomic(path: string, chunks: readonly Uint8Array[], inputs: readonly string[] = []): void {
  refuseToOverwriteInputs(path, inputs);
  const tmp = join(dirname(resolve(path)), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx');
    for (const c of chunks) {
      let off = 0;
      while (off < c.byteLength) off += writeSync(fd, c, off, c.byteLength - off);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    if (err instanceof OutputError) throw err;
    throw new OutputError(`cannot write ${path}: ${(err as Error).message}`);
  }
}
