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

/** Why a path cannot be written, in words (ENOENT on create means the folder is missing). */
function reason(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const dir = dirname(resolve(path));
  if (code === 'ENOENT' || code === 'ENOTDIR') return `the folder ${dir} does not exist`;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return `the folder ${dir} is not writable (${code})`;
  if (code === 'ENOSPC') return 'the disk is full';
  return (err as Error).message;
}

/**
 * A file written at any position under a temporary name beside `path` (so the rename stays on one
 * file system), renamed over `path` at commit. Opening checks the inputs and creates the temporary
 * file, so a missing or read-only folder fails before any work is done. Any I/O error removes the
 * temporary file and throws OutputError.
 */
export class AtomicFile {
  readonly tmp: string;
  private fd: number | null;
  private done = false;

  constructor(
    readonly path: string,
    inputs: readonly string[] = [],
  ) {
    refuseToOverwriteInputs(path, inputs);
    this.tmp = join(dirname(resolve(path)), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
    try {
      this.fd = openSync(this.tmp, 'wx');
    } catch (err) {
      throw new OutputError(`cannot write ${path}: ${reason(path, err)}`);
    }
  }

  /** True until commit or abort. */
  get open(): boolean {
    return this.fd !== null;
  }

  /** Writes bytes at a byte position (gaps read back as zeros). */
  write(bytes: Uint8Array, position: number): void {
    const fd = this.need();
    const CHUNK = 1 << 30; // writeSync takes < 2 GiB per call
    try {
      let off = 0;
      while (off < bytes.byteLength) {
        off += writeSync(fd, bytes, off, Math.min(CHUNK, bytes.byteLength - off), position + off);
      }
    } catch (err) {
      this.abort();
      throw new OutputError(`cannot write ${this.path}: ${reason(this.path, err)}`);
    }
  }

  /** fsync, close and rename over path: the new content appears whole or not at all. */
  commit(): void {
    const fd = this.need();
    try {
      fsyncSync(fd);
      closeSync(fd);
      this.fd = null;
      renameSync(this.tmp, this.path);
      this.done = true;
    } catch (err) {
      this.abort();
      throw new OutputError(`cannot write ${this.path}: ${reason(this.path, err)}`);
    }
  }

  /** Closes and removes the temporary file; a no-op after commit or a first abort. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // already unusable; removing the file is what matters
      }
      this.fd = null;
    }
    rmSync(this.tmp, { force: true });
  }

  private need(): number {
    if (this.fd === null) throw new OutputError(`${this.path}: the writer is closed (committed or aborted)`);
    return this.fd;
  }
}

/** Writes the chunks to path atomically; inputs (if given) are never overwritten. */
export function writeFileAtomic(path: string, chunks: readonly Uint8Array[], inputs: readonly string[] = []): void {
  const file = new AtomicFile(path, inputs);
  let at = 0;
  for (const c of chunks) {
    file.write(c, at);
    at += c.byteLength;
  }
  file.commit();
}
